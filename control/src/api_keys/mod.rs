//! A webhook's API key: generated here, shown once, stored only as a salted hash.

mod format;

use std::time::{Duration, SystemTime};

use sluice_proto::{ids::WorkflowId, v1};

use crate::{
    audit::{self, Event},
    auth::Caller,
    error::Error,
    store::Store,
    watch, webhooks, workflows,
};

use format::NewApiKey;

/// Creates a key for the workflow's webhook, replacing any existing one at once and
/// clearing a revocation. The answer is the only place the key itself appears.
pub async fn generate(
    store: &Store,
    caller: &Caller,
    workflow: &str,
) -> Result<v1::GeneratedApiKey, Error> {
    let id = workflows::parse_id(workflow)?;
    let new_key = NewApiKey::generate().map_err(|error| {
        Error::Internal(anyhow::Error::new(error).context("draw random bytes for an API key"))
    })?;

    let mut client = store.client().await?;
    let transaction = client.transaction().await?;
    let webhook = webhooks::id_of(&transaction, id, workflow).await?;
    let before = webhooks::snapshot(&transaction, id).await?;
    let statement = transaction
        .prepare_cached(
            "INSERT INTO webhook_api_keys (webhook_id, hash, salt, preview, created_at)
             VALUES ($1, $2, $3, $4, now())
             ON CONFLICT (webhook_id) DO UPDATE SET
                 hash = excluded.hash,
                 salt = excluded.salt,
                 preview = excluded.preview,
                 created_at = excluded.created_at,
                 last_used_at = NULL,
                 revoked_at = NULL,
                 previous_hash = NULL,
                 previous_salt = NULL,
                 previous_expires_at = NULL
             RETURNING created_at",
        )
        .await?;
    let created_at: SystemTime = transaction
        .query_one(
            &statement,
            &[&webhook, &new_key.hash, &new_key.salt, &new_key.preview],
        )
        .await?
        .get(0);
    watch::notify_change(&transaction, id.uuid()).await?;
    record(&transaction, caller, "GenerateApiKey", id, before).await?;
    transaction.commit().await?;

    Ok(v1::GeneratedApiKey {
        api_key: new_key.key,
        preview: new_key.preview,
        created_at: Some(created_at.into()),
    })
}

/// Creates a key like [`generate`], but keeps the active key it replaces valid until
/// `grace` has passed, so that senders can switch over without a gap.
pub async fn rotate(
    store: &Store,
    caller: &Caller,
    workflow: &str,
    grace: Duration,
) -> Result<v1::GeneratedApiKey, Error> {
    let id = workflows::parse_id(workflow)?;
    let grace_seconds = f64::from(u32::try_from(grace.as_secs()).unwrap_or(u32::MAX));
    let new_key = NewApiKey::generate().map_err(|error| {
        Error::Internal(anyhow::Error::new(error).context("draw random bytes for an API key"))
    })?;

    let mut client = store.client().await?;
    let transaction = client.transaction().await?;
    let webhook = webhooks::id_of(&transaction, id, workflow).await?;
    let before = webhooks::snapshot(&transaction, id).await?;
    let statement = transaction
        .prepare_cached(
            "UPDATE webhook_api_keys SET
                 previous_hash = CASE WHEN $5::float8 > 0 THEN hash END,
                 previous_salt = CASE WHEN $5::float8 > 0 THEN salt END,
                 previous_expires_at =
                     CASE WHEN $5::float8 > 0 THEN now() + make_interval(secs => $5::float8) END,
                 hash = $2,
                 salt = $3,
                 preview = $4,
                 created_at = now(),
                 last_used_at = NULL
             WHERE webhook_id = $1 AND revoked_at IS NULL
             RETURNING created_at",
        )
        .await?;
    let row = transaction
        .query_opt(
            &statement,
            &[
                &webhook,
                &new_key.hash,
                &new_key.salt,
                &new_key.preview,
                &grace_seconds,
            ],
        )
        .await?
        .ok_or_else(|| {
            Error::invalid("The webhook has no active API key to rotate; generate one instead")
        })?;
    let created_at: SystemTime = row.get(0);
    watch::notify_change(&transaction, id.uuid()).await?;
    record(&transaction, caller, "RotateApiKey", id, before).await?;
    transaction.commit().await?;

    Ok(v1::GeneratedApiKey {
        api_key: new_key.key,
        preview: new_key.preview,
        created_at: Some(created_at.into()),
    })
}

/// Marks the key revoked (once; revoking again keeps the first time), together with a
/// previous key still in grace. A webhook with no key is left as it is.
pub async fn revoke(store: &Store, caller: &Caller, workflow: &str) -> Result<(), Error> {
    change(
        store,
        caller,
        "RevokeApiKey",
        workflow,
        "UPDATE webhook_api_keys SET revoked_at = now(),
             previous_hash = NULL, previous_salt = NULL, previous_expires_at = NULL
         WHERE webhook_id = $1 AND revoked_at IS NULL",
    )
    .await
}

/// Removes the key, turning key protection off. Deleting a missing key is not an error.
pub async fn delete(store: &Store, caller: &Caller, workflow: &str) -> Result<(), Error> {
    change(
        store,
        caller,
        "DeleteApiKey",
        workflow,
        "DELETE FROM webhook_api_keys WHERE webhook_id = $1",
    )
    .await
}

/// Runs `sql` (with the webhook id as `$1`) and, if it changed a row, tells every
/// ingress and records the change.
async fn change(
    store: &Store,
    caller: &Caller,
    action: &'static str,
    workflow: &str,
    sql: &str,
) -> Result<(), Error> {
    let id = workflows::parse_id(workflow)?;
    let mut client = store.client().await?;
    let transaction = client.transaction().await?;
    let webhook = webhooks::id_of(&transaction, id, workflow).await?;
    let before = webhooks::snapshot(&transaction, id).await?;
    let statement = transaction.prepare_cached(sql).await?;
    if transaction.execute(&statement, &[&webhook]).await? > 0 {
        watch::notify_change(&transaction, id.uuid()).await?;
        record(&transaction, caller, action, id, before).await?;
    }
    transaction.commit().await?;
    Ok(())
}

/// Records an API key change, with the webhook as it is now as `after`.
async fn record(
    transaction: &deadpool_postgres::Transaction<'_>,
    caller: &Caller,
    action: &'static str,
    id: WorkflowId,
    before: Option<serde_json::Value>,
) -> Result<(), Error> {
    let event = Event {
        caller,
        action,
        workflow: Some(id.uuid()),
        before,
        after: webhooks::snapshot(transaction, id).await?,
    };
    audit::record(transaction, event).await
}
