//! Deduplication of sender retries, for webhooks that turn it on.
//!
//! The ingress sends the sender's delivery id with each request (`dedup_key`). Inside
//! the transaction that writes a batch, each key is claimed in `execution_dedup_keys`,
//! whose primary key is `(webhook_id, dedup_key)`. The first request to claim a key
//! keeps its own request id; a later request with the same key takes over the first
//! one's request id, so the insert that follows finds the first request's executions
//! (the same path as an ingress retry) and creates nothing. A concurrent claim of the
//! same key waits on the unique index until the first transaction ends, so there is no
//! window between a check and an insert; a claim that rolls back leaves nothing.

use std::{borrow::Cow, collections::HashMap};

use deadpool_postgres::ClientWrapper;
use uuid::Uuid;

use crate::{executions::NewExecutions, store::StoreError};

/// How long a key is remembered: longer than the longest retry horizon of the common
/// senders (GitHub redelivers and Stripe retries for up to three days). A key seen
/// again later is taken over by the request that carries it.
pub const WINDOW_SECONDS: f64 = 3.0 * 24.0 * 3600.0;

const CLAIM: &str = "INSERT INTO execution_dedup_keys AS d (webhook_id, dedup_key, request_id)
     SELECT k.webhook_id, k.dedup_key, k.request_id
     FROM unnest($1::uuid[], $2::text[], $3::uuid[]) AS k(webhook_id, dedup_key, request_id)
         JOIN webhooks h ON h.id = k.webhook_id AND h.dedup
     ON CONFLICT (webhook_id, dedup_key) DO UPDATE SET
         request_id = CASE WHEN d.created_at < now() - make_interval(secs => $4)
             THEN excluded.request_id ELSE d.request_id END,
         created_at = CASE WHEN d.created_at < now() - make_interval(secs => $4)
             THEN now() ELSE d.created_at END
     RETURNING webhook_id, dedup_key, request_id";

/// The requests as they are to be written: a repeat of an earlier delivery carries the
/// request id of the first one, everything else is unchanged.
pub async fn claim<'a>(
    client: &ClientWrapper,
    requests: &[&'a NewExecutions],
) -> Result<Vec<Cow<'a, NewExecutions>>, StoreError> {
    // Within one batch the first request with a key stands for all that share it (one
    // statement may not touch a row twice). Keys are claimed in one order, so that
    // batches claiming the same keys cannot deadlock one another.
    let mut first: HashMap<(Uuid, &str), Uuid> = HashMap::new();
    for request in requests {
        if let Some(key) = &request.dedup_key {
            first
                .entry((request.webhook, key.as_str()))
                .or_insert(request.request_id);
        }
    }
    if first.is_empty() {
        return Ok(requests
            .iter()
            .map(|request| Cow::Borrowed(*request))
            .collect());
    }
    let mut keys: Vec<(Uuid, &str, Uuid)> = first
        .iter()
        .map(|((webhook, key), request_id)| (*webhook, *key, *request_id))
        .collect();
    keys.sort_unstable();
    let webhooks: Vec<Uuid> = keys.iter().map(|key| key.0).collect();
    let dedup_keys: Vec<&str> = keys.iter().map(|key| key.1).collect();
    let request_ids: Vec<Uuid> = keys.iter().map(|key| key.2).collect();

    let statement = client.prepare_cached(CLAIM).await?;
    let rows = client
        .query(
            &statement,
            &[&webhooks, &dedup_keys, &request_ids, &WINDOW_SECONDS],
        )
        .await?;
    let claimed: HashMap<(Uuid, String), Uuid> = rows
        .iter()
        .map(|row| ((row.get(0), row.get(1)), row.get(2)))
        .collect();

    Ok(requests
        .iter()
        .map(|request| {
            let owner = request
                .dedup_key
                .as_ref()
                .and_then(|key| claimed.get(&(request.webhook, key.clone())));
            match owner {
                Some(owner) if *owner != request.request_id => Cow::Owned(NewExecutions {
                    request_id: *owner,
                    ..(*request).clone()
                }),
                _ => Cow::Borrowed(*request),
            }
        })
        .collect())
}
