//! A webhook's API key: generated here, shown once, stored only as a salted hash.

mod format;

use std::time::SystemTime;

use sluice_proto::v1;

use crate::{error::Error, store::Store, watch, webhooks, workflows};

use format::NewApiKey;

/// Creates a key for the workflow's webhook, replacing any existing one at once and
/// clearing a revocation. The answer is the only place the key itself appears.
pub async fn generate(store: &Store, workflow: &str) -> Result<v1::GeneratedApiKey, Error> {
    let id = workflows::parse_id(workflow)?;
    let new_key = NewApiKey::generate().map_err(|error| {
        Error::Internal(anyhow::Error::new(error).context("draw random bytes for an API key"))
    })?;

    let mut client = store.client().await?;
    let transaction = client.transaction().await?;
    let webhook = webhooks::id_of(&transaction, id, workflow).await?;
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
                 revoked_at = NULL
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
    transaction.commit().await?;

    Ok(v1::GeneratedApiKey {
        api_key: new_key.key,
        preview: new_key.preview,
        created_at: Some(created_at.into()),
    })
}

/// Marks the key revoked (once; revoking again keeps the first time). A webhook with no
/// key is left as it is.
pub async fn revoke(store: &Store, workflow: &str) -> Result<(), Error> {
    change(
        store,
        workflow,
        "UPDATE webhook_api_keys SET revoked_at = now()
         WHERE webhook_id = $1 AND revoked_at IS NULL",
    )
    .await
}

/// Removes the key, turning key protection off. Deleting a missing key is not an error.
pub async fn delete(store: &Store, workflow: &str) -> Result<(), Error> {
    change(
        store,
        workflow,
        "DELETE FROM webhook_api_keys WHERE webhook_id = $1",
    )
    .await
}

/// Runs `sql` (with the webhook id as `$1`) and tells every ingress if it changed a row.
async fn change(store: &Store, workflow: &str, sql: &str) -> Result<(), Error> {
    let id = workflows::parse_id(workflow)?;
    let mut client = store.client().await?;
    let transaction = client.transaction().await?;
    let webhook = webhooks::id_of(&transaction, id, workflow).await?;
    let statement = transaction.prepare_cached(sql).await?;
    if transaction.execute(&statement, &[&webhook]).await? > 0 {
        watch::notify_change(&transaction, id.uuid()).await?;
    }
    transaction.commit().await?;
    Ok(())
}
