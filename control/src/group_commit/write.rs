//! One batch of requests in one transaction: the shared locks and a check of their
//! webhooks, one multi-row insert, and a look-up of earlier attempts only when one is
//! needed.
//!
//! The statements are pipelined: `BEGIN`, the locks and the check go to PostgreSQL
//! together, and so do the insert and `COMMIT`, so that a batch costs two round trips
//! rather than five. PostgreSQL still runs them one after the other, each with its own
//! snapshot, and a `COMMIT` after a failed statement only rolls back.
//!
//! The insert is a plain one: nearly every request is new, and `ON CONFLICT` would make
//! PostgreSQL probe the request index and confirm a speculative insertion for every
//! row (about a sixth of the insert's cost, measured). A request that was already
//! written (a retry whose first answer was lost) makes the plain insert fail on the
//! request index; the batch is then rolled back and written again with an insert that
//! skips such rows, and those requests get the ids their first attempt created.

use std::{
    borrow::Cow,
    collections::{BTreeSet, HashMap},
    net::IpAddr,
    time::SystemTime,
};

use deadpool_postgres::ClientWrapper;
use sluice_proto::{ids::ExecutionId, v1::create_execution_response::Outcome};
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use crate::{
    dedup,
    executions::{Created, NewExecutions},
    store::{Store, StoreError},
    webhook_lock,
};

/// The status and newest published version of each webhook, read after the webhooks'
/// shared locks are held (see [`webhook_lock`]), in a statement of its own so that its
/// snapshot includes every change that committed before the locks were granted.
const CHECK: &str = "SELECT h.workflow_id, h.id, h.status,
         (SELECT max(d.version) FROM workflow_definitions d
          WHERE d.workflow_id = h.workflow_id)
     FROM webhooks h
     WHERE (h.workflow_id, h.id) IN (SELECT * FROM unnest($1::uuid[], $2::uuid[]))
";

/// One row per execution, joined to one row per request for the columns a request's
/// executions share. Triggers are cast from text by PostgreSQL, which rejects what
/// jsonb cannot hold.
macro_rules! insert_executions {
    () => {
        "INSERT INTO executions (id, wf_exec_id, workflow_id, webhook_id,
             definition_version, trigger, request_id, request_seq, client_ip, method,
             media_type, received_at)
         SELECT e.id, e.wf_exec_id, r.workflow_id, r.webhook_id, r.version,
             e.trigger::jsonb, r.request_id, e.seq, r.client_ip, r.method, r.media_type,
             r.received_at
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::int[])
                 AS e(id, wf_exec_id, trigger, request, seq)
             JOIN unnest($6::uuid[], $7::uuid[], $8::int[], $9::uuid[], $10::inet[],
                     $11::text[], $12::text[], $13::timestamptz[])
                 WITH ORDINALITY AS r(workflow_id, webhook_id, version, request_id,
                     client_ip, method, media_type, received_at, n)
                 ON r.n = e.request"
    };
}

/// The insert for batches of new requests: it fails on a row that is already there.
const INSERT_NEW: &str = insert_executions!();

/// The insert for a batch that repeats a request already written: its rows are
/// skipped, and the look-up after the commit finds them.
const INSERT_SKIPPING_WRITTEN: &str = concat!(
    insert_executions!(),
    " ON CONFLICT (request_id, request_seq) DO NOTHING"
);

/// The unique constraint that makes a request's executions idempotent.
const REQUEST_KEY: &str = "executions_request_id_request_seq_key";

/// Which insert a batch is written with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Insert {
    New,
    SkippingWritten,
}

const EXISTING: &str = "SELECT request_id, wf_exec_id FROM executions
     WHERE request_id = ANY($1) ORDER BY request_id, request_seq";

/// Writes `requests` in one transaction and returns their outcomes in order. A request
/// id that appears more than once (a retry that caught up with its first attempt) is
/// written once and answered the same each time.
pub async fn write(store: &Store, requests: &[&NewExecutions]) -> Result<Vec<Created>, StoreError> {
    let client = store.client().await?;
    match attempt(&client, requests, Insert::New).await {
        Err(StoreError::Query(error)) if repeats_a_request(&error) => {
            attempt(&client, requests, Insert::SkippingWritten).await
        }
        written => written,
    }
}

/// [`write_on`], leaving no transaction open on the connection when it fails.
async fn attempt(
    client: &ClientWrapper,
    requests: &[&NewExecutions],
    insert: Insert,
) -> Result<Vec<Created>, StoreError> {
    let written = write_on(client, requests, insert).await;
    if written.is_err() {
        // The failure may have left the connection inside the transaction; a ROLLBACK
        // outside one only draws a warning. A connection that cannot even do this is
        // closed, and the pool does not hand it out again.
        let _ = client.batch_execute("ROLLBACK").await;
    }
    written
}

/// Whether the insert failed because a request's executions were already written.
fn repeats_a_request(error: &tokio_postgres::Error) -> bool {
    error.as_db_error().is_some_and(|db| {
        *db.code() == tokio_postgres::error::SqlState::UNIQUE_VIOLATION
            && db.constraint() == Some(REQUEST_KEY)
    })
}

async fn write_on(
    client: &ClientWrapper,
    requests: &[&NewExecutions],
    insert: Insert,
) -> Result<Vec<Created>, StoreError> {
    // Deduplication changes request ids, never webhooks: the check can go first.
    let versions = begin_and_check(client, requests).await?;

    // Repeats of a delivery take the first one's request id, in this transaction.
    let deduplicated = dedup::claim(client, requests).await?;
    let repeats: Vec<bool> = deduplicated
        .iter()
        .map(|request| matches!(request, Cow::Owned(_)))
        .collect();
    let deduplicated: Vec<&NewExecutions> = deduplicated.iter().map(AsRef::as_ref).collect();
    let requests = &deduplicated[..];

    let mut first_of: HashMap<Uuid, usize> = HashMap::with_capacity(requests.len());
    let unique: Vec<usize> = (0..requests.len())
        .filter(|&index| *first_of.entry(requests[index].request_id).or_insert(index) == index)
        .collect();

    let mut outcomes: HashMap<usize, Result<Created, Outcome>> = HashMap::new();
    let mut accepted = Vec::new();
    for &index in &unique {
        let request = requests[index];
        match versions.get(&(request.workflow.uuid(), request.webhook)) {
            None => {
                outcomes.insert(index, Err(Outcome::WebhookNotFound));
            }
            Some(Err(outcome)) => {
                outcomes.insert(index, Err(*outcome));
            }
            Some(Ok(version)) => accepted.push((index, *version)),
        }
    }

    // A repeat of a delivery whose executions exist creates nothing, whatever it
    // carries; one whose first delivery created nothing (it was refused) is written
    // like a new request under the id it took over.
    let repeated: Vec<Uuid> = accepted
        .iter()
        .filter(|(index, _)| repeats[*index])
        .map(|(index, _)| requests[*index].request_id)
        .collect();
    if !repeated.is_empty() {
        let earlier = existing_ids(client, &repeated).await?;
        accepted.retain(|(index, _)| {
            let Some(ids) = earlier.get(&requests[*index].request_id) else {
                return true;
            };
            outcomes.insert(
                *index,
                Ok(Created {
                    outcome: Outcome::Created,
                    wf_exec_ids: ids.clone(),
                    duplicate: true,
                }),
            );
            false
        });
    }

    let generated = insert_and_commit(client, requests, &accepted, insert).await?;
    let all_new = generated.inserted == generated.expected;
    for ((index, _), wf_exec_ids) in accepted.iter().zip(generated.ids) {
        outcomes.insert(
            *index,
            Ok(Created {
                outcome: Outcome::Created,
                wf_exec_ids,
                duplicate: false,
            }),
        );
    }

    // Earlier attempts matter for refused requests (a retry whose first attempt
    // committed just before the webhook changed still gets its executions) and, when
    // the insert skipped rows, for the requests whose rows were already there. They
    // are committed rows, read after this transaction's commit.
    let mut lookup: Vec<Uuid> = outcomes
        .iter()
        .filter(|(_, outcome)| outcome.is_err())
        .map(|(index, _)| requests[*index].request_id)
        .collect();
    if !all_new {
        lookup.extend(
            accepted
                .iter()
                .map(|(index, _)| requests[*index].request_id),
        );
    }
    if !lookup.is_empty() {
        let existing = existing_ids(client, &lookup).await?;
        for (index, outcome) in outcomes.iter_mut() {
            if let Some(ids) = existing.get(&requests[*index].request_id) {
                *outcome = Ok(Created {
                    outcome: Outcome::Created,
                    wf_exec_ids: ids.clone(),
                    duplicate: repeats[*index],
                });
            }
        }
    }

    Ok((0..requests.len())
        .map(|index| {
            let first = first_of[&requests[index].request_id];
            match &outcomes[&first] {
                Ok(created) => created.clone(),
                Err(outcome) => Created {
                    outcome: *outcome,
                    wf_exec_ids: Vec::new(),
                    duplicate: false,
                },
            }
        })
        .collect())
}

type Versions = HashMap<(Uuid, Uuid), Result<i32, Outcome>>;

/// Opens the transaction, takes the webhooks' shared locks, and reads the published
/// version each webhook's executions get, or why it gets none.
async fn begin_and_check(
    client: &ClientWrapper,
    requests: &[&NewExecutions],
) -> Result<Versions, StoreError> {
    let keys: BTreeSet<(Uuid, Uuid)> = requests
        .iter()
        .map(|request| (request.workflow.uuid(), request.webhook))
        .collect();
    let (workflows, webhooks): (Vec<Uuid>, Vec<Uuid>) = keys.into_iter().unzip();
    let lock_keys = webhook_lock::keys(workflows.iter().copied());
    let lock = client.prepare_cached(webhook_lock::SHARED).await?;
    let statement = client.prepare_cached(CHECK).await?;
    // The check reads only once the locks are held: its statement starts after the
    // lock statement has finished.
    let lock_params: [&(dyn ToSql + Sync); 1] = [&lock_keys];
    let check_params: [&(dyn ToSql + Sync); 2] = [&workflows, &webhooks];
    let (_, _, rows) = tokio::try_join!(
        client.batch_execute("BEGIN"),
        client.execute(&lock, &lock_params),
        client.query(&statement, &check_params),
    )?;
    Ok(rows
        .iter()
        .map(|row| {
            let status: &str = row.get(2);
            let version: Option<i32> = row.get(3);
            let checked = match version {
                _ if status != "online" => Err(Outcome::WebhookOffline),
                None => Err(Outcome::NotPublished),
                Some(version) => Ok(version),
            };
            ((row.get(0), row.get(1)), checked)
        })
        .collect())
}

struct Inserted {
    /// The ids generated for each accepted request, in order.
    ids: Vec<Vec<String>>,
    expected: u64,
    inserted: u64,
}

/// Inserts the accepted requests' executions and commits.
async fn insert_and_commit(
    client: &ClientWrapper,
    requests: &[&NewExecutions],
    accepted: &[(usize, i32)],
    insert: Insert,
) -> Result<Inserted, StoreError> {
    let executions: usize = accepted
        .iter()
        .map(|(index, _)| requests[*index].triggers.len())
        .sum();
    let mut rows = ExecutionRows::with_capacity(executions);
    let mut per_request = RequestRows::with_capacity(accepted.len());
    let mut ids = Vec::with_capacity(accepted.len());
    for (position, (index, version)) in accepted.iter().enumerate() {
        let request = requests[*index];
        let number = i32::try_from(position + 1).expect("a batch holds fewer than 2^31 requests");
        let wf_exec_ids = rows.push(request, number);
        per_request.push(request, *version);
        ids.push(wf_exec_ids);
    }
    if executions == 0 {
        // Deduplication keys may have been claimed.
        client.batch_execute("COMMIT").await?;
        return Ok(Inserted {
            ids,
            expected: 0,
            inserted: 0,
        });
    }

    let statement = client
        .prepare_cached(match insert {
            Insert::New => INSERT_NEW,
            Insert::SkippingWritten => INSERT_SKIPPING_WRITTEN,
        })
        .await?;
    let params: [&(dyn ToSql + Sync); 13] = [
        &rows.ids,
        &rows.wf_exec_ids,
        &rows.triggers,
        &rows.requests,
        &rows.seqs,
        &per_request.workflows,
        &per_request.webhooks,
        &per_request.versions,
        &per_request.request_ids,
        &per_request.client_ips,
        &per_request.methods,
        &per_request.media_types,
        &per_request.received_at,
    ];
    // Should the insert fail, the COMMIT sent behind it rolls back.
    let (inserted, ()) = tokio::try_join!(
        client.execute(&statement, &params),
        client.batch_execute("COMMIT"),
    )?;
    Ok(Inserted {
        ids,
        expected: executions as u64,
        inserted,
    })
}

/// The statement's per-execution arrays.
struct ExecutionRows<'a> {
    ids: Vec<Uuid>,
    wf_exec_ids: Vec<String>,
    triggers: Vec<Option<&'a str>>,
    requests: Vec<i32>,
    seqs: Vec<i32>,
}

impl<'a> ExecutionRows<'a> {
    fn with_capacity(capacity: usize) -> Self {
        Self {
            ids: Vec::with_capacity(capacity),
            wf_exec_ids: Vec::with_capacity(capacity),
            triggers: Vec::with_capacity(capacity),
            requests: Vec::with_capacity(capacity),
            seqs: Vec::with_capacity(capacity),
        }
    }

    /// Adds the request's executions and returns their new ids.
    fn push(&mut self, request: &'a NewExecutions, number: i32) -> Vec<String> {
        let mut wf_exec_ids = Vec::with_capacity(request.triggers.len());
        for (seq, trigger) in (1..).zip(&request.triggers) {
            let id = ExecutionId::generate(request.workflow);
            let wf_exec_id = id.to_string();
            self.ids.push(id.execution);
            self.wf_exec_ids.push(wf_exec_id.clone());
            wf_exec_ids.push(wf_exec_id);
            self.triggers.push(trigger.as_deref());
            self.requests.push(number);
            self.seqs.push(seq);
        }
        wf_exec_ids
    }
}

/// The statement's per-request arrays.
struct RequestRows<'a> {
    workflows: Vec<Uuid>,
    webhooks: Vec<Uuid>,
    versions: Vec<i32>,
    request_ids: Vec<Uuid>,
    client_ips: Vec<Option<IpAddr>>,
    methods: Vec<&'a str>,
    media_types: Vec<&'a str>,
    received_at: Vec<SystemTime>,
}

impl<'a> RequestRows<'a> {
    fn with_capacity(capacity: usize) -> Self {
        Self {
            workflows: Vec::with_capacity(capacity),
            webhooks: Vec::with_capacity(capacity),
            versions: Vec::with_capacity(capacity),
            request_ids: Vec::with_capacity(capacity),
            client_ips: Vec::with_capacity(capacity),
            methods: Vec::with_capacity(capacity),
            media_types: Vec::with_capacity(capacity),
            received_at: Vec::with_capacity(capacity),
        }
    }

    fn push(&mut self, request: &'a NewExecutions, version: i32) {
        self.workflows.push(request.workflow.uuid());
        self.webhooks.push(request.webhook);
        self.versions.push(version);
        self.request_ids.push(request.request_id);
        self.client_ips.push(request.client_ip);
        self.methods.push(&request.method);
        self.media_types.push(&request.media_type);
        self.received_at.push(request.received_at);
    }
}

/// The executions the given requests already created, each in trigger order.
async fn existing_ids(
    client: &ClientWrapper,
    request_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<String>>, StoreError> {
    let statement = client.prepare_cached(EXISTING).await?;
    let rows = client.query(&statement, &[&request_ids]).await?;
    let mut existing: HashMap<Uuid, Vec<String>> = HashMap::new();
    for row in &rows {
        existing.entry(row.get(0)).or_default().push(row.get(1));
    }
    Ok(existing)
}
