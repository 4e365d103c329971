//! Each workflow's webhook: its status, methods, IP allowlist and header setting, as
//! administrators see it and as the ingress needs it.

use std::time::{Duration, SystemTime};

use deadpool_postgres::GenericClient;
use sluice_proto::{ids::WorkflowId, v1};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::{
    allowlist,
    audit::{self, Event},
    auth::Caller,
    error::Error,
    methods,
    store::Store,
    url_secrets::UrlSecrets,
    watch, webhook_lock,
};

/// The columns the row readers below take, for a query over `webhooks h` left-joined
/// with `webhook_api_keys k`.
const COLUMNS: &str = "h.id, h.workflow_id, h.status, h.methods, h.allowlisted_cidrs,
     h.include_headers,
     (SELECT max(d.version) FROM workflow_definitions d WHERE d.workflow_id = h.workflow_id),
     k.preview, k.created_at, k.last_used_at, k.revoked_at, k.hash, k.salt,
     h.secret_generation, h.previous_secret_generation, h.previous_secret_expires_at,
     k.previous_hash, k.previous_salt, k.previous_expires_at, h.dedup";

const SELECT_BY_WORKFLOW: &str = "FROM webhooks h
     LEFT JOIN webhook_api_keys k ON k.webhook_id = h.id
     WHERE h.workflow_id = $1";

/// The changes an update asks for; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct Changes {
    pub status: Option<String>,
    pub methods: Option<Vec<String>>,
    pub allowlisted_cidrs: Option<Vec<String>>,
    pub include_headers: Option<bool>,
    pub dedup: Option<bool>,
}

/// The webhook as administrators see it, URL included.
pub async fn get(store: &Store, urls: &UrlSecrets, workflow: &str) -> Result<v1::Webhook, Error> {
    let id = crate::workflows::parse_id(workflow)?;
    let client = store.client().await?;
    let row = select(&client, id)
        .await?
        .ok_or_else(|| Error::WorkflowNotFound(workflow.to_owned()))?;
    Ok(admin_view(&row, urls))
}

/// Validates and applies `changes` in one transaction, telling every ingress.
pub async fn update(
    store: &Store,
    urls: &UrlSecrets,
    caller: &Caller,
    workflow: &str,
    changes: Changes,
) -> Result<v1::Webhook, Error> {
    let id = crate::workflows::parse_id(workflow)?;
    let status = changes.status.as_deref().map(status).transpose()?;
    let methods = changes
        .methods
        .as_deref()
        .map(methods::normalise)
        .transpose()
        .map_err(|error| Error::invalid(error.to_string()))?;
    let allowlisted_cidrs = changes
        .allowlisted_cidrs
        .as_deref()
        .map(allowlist::normalise)
        .transpose()
        .map_err(|error| Error::invalid(error.to_string()))?;

    let mut client = store.client().await?;
    let transaction = client.transaction().await?;
    // Waits for the inserts in flight; later ones see this change (an offline switch
    // above all) once it commits.
    webhook_lock::exclusive(&transaction, id.uuid()).await?;
    let before = snapshot(&transaction, id).await?;
    let statement = transaction
        .prepare_cached(
            "UPDATE webhooks SET
                 status = coalesce($2, status),
                 methods = coalesce($3, methods),
                 allowlisted_cidrs = coalesce($4, allowlisted_cidrs),
                 include_headers = coalesce($5, include_headers),
                 dedup = coalesce($6, dedup),
                 updated_at = now()
             WHERE workflow_id = $1",
        )
        .await?;
    let updated = transaction
        .execute(
            &statement,
            &[
                &id.uuid(),
                &status,
                &methods,
                &allowlisted_cidrs,
                &changes.include_headers,
                &changes.dedup,
            ],
        )
        .await?;
    if updated == 0 {
        return Err(Error::WorkflowNotFound(workflow.to_owned()));
    }
    let change = Change {
        caller,
        action: "UpdateWebhook",
        workflow,
        id,
        before,
    };
    commit_change(transaction, change, urls).await
}

/// Moves the webhook to its next URL secret generation. With a grace period the
/// previous URL stays valid until it ends; a rotation during a grace period retires the
/// URL that was in grace at once.
pub async fn rotate_secret(
    store: &Store,
    urls: &UrlSecrets,
    caller: &Caller,
    workflow: &str,
    grace: Duration,
) -> Result<v1::Webhook, Error> {
    let id = crate::workflows::parse_id(workflow)?;
    let grace_seconds = f64::from(u32::try_from(grace.as_secs()).unwrap_or(u32::MAX));
    let mut client = store.client().await?;
    let transaction = client.transaction().await?;
    let before = snapshot(&transaction, id).await?;
    let statement = transaction
        .prepare_cached(
            "UPDATE webhooks SET
                 previous_secret_generation = CASE WHEN $2::float8 > 0 THEN secret_generation END,
                 previous_secret_expires_at =
                     CASE WHEN $2::float8 > 0 THEN now() + make_interval(secs => $2::float8) END,
                 secret_generation = secret_generation + 1,
                 updated_at = now()
             WHERE workflow_id = $1",
        )
        .await?;
    let updated = transaction
        .execute(&statement, &[&id.uuid(), &grace_seconds])
        .await?;
    if updated == 0 {
        return Err(Error::WorkflowNotFound(workflow.to_owned()));
    }
    let change = Change {
        caller,
        action: "RotateWebhookSecret",
        workflow,
        id,
        before,
    };
    commit_change(transaction, change, urls).await
}

/// A change to a webhook that has been written but not yet announced or audited.
struct Change<'a> {
    caller: &'a Caller,
    action: &'static str,
    /// The id as the caller spelled it, for the error message.
    workflow: &'a str,
    id: WorkflowId,
    before: Option<serde_json::Value>,
}

/// Tells the ingresses the webhook changed, records the change in the audit log, and
/// commits; all in the transaction that made the change.
async fn commit_change(
    transaction: deadpool_postgres::Transaction<'_>,
    change: Change<'_>,
    urls: &UrlSecrets,
) -> Result<v1::Webhook, Error> {
    let id = change.id;
    watch::notify_change(&transaction, id.uuid()).await?;
    let row = select(&transaction, id)
        .await?
        .ok_or_else(|| Error::WorkflowNotFound(change.workflow.to_owned()))?;
    let event = Event {
        caller: change.caller,
        action: change.action,
        workflow: Some(id.uuid()),
        before: change.before,
        after: Some(describe(&row)),
    };
    audit::record(&transaction, event).await?;
    transaction.commit().await?;
    Ok(admin_view(&row, urls))
}

/// The webhook as the audit log describes it: every setting, the secret generation and
/// the key's public facts, never a secret or a hash. `None` when there is no webhook.
pub async fn snapshot(
    client: &impl GenericClient,
    id: WorkflowId,
) -> Result<Option<serde_json::Value>, Error> {
    Ok(select(client, id).await?.as_ref().map(describe))
}

fn describe(row: &Row) -> serde_json::Value {
    let timestamp = |index| {
        row.get::<_, Option<SystemTime>>(index)
            .map(|time| humantime::format_rfc3339_millis(time).to_string())
    };
    let api_key = row.get::<_, Option<String>>(7).map(|preview| {
        serde_json::json!({
            "preview": preview,
            "created_at": timestamp(8),
            "revoked_at": timestamp(10),
            "previous_expires_at": timestamp(18),
        })
    });
    serde_json::json!({
        "status": row.get::<_, String>(2),
        "methods": row.get::<_, Vec<String>>(3),
        "allowlisted_cidrs": row.get::<_, Vec<String>>(4),
        "include_headers": row.get::<_, bool>(5),
        "dedup": row.get::<_, bool>(19),
        "secret_generation": row.get::<_, i32>(13),
        "previous_url_expires_at": timestamp(15),
        "api_key": api_key,
    })
}

/// The webhook as the ingress needs it: digests and key hashes, never secrets.
pub async fn config(
    store: &Store,
    urls: &UrlSecrets,
    workflow: &str,
) -> Result<v1::WebhookConfig, Error> {
    let id = crate::workflows::parse_id(workflow)?;
    let client = store.client().await?;
    let row = select(&client, id)
        .await?
        .ok_or_else(|| Error::WorkflowNotFound(workflow.to_owned()))?;
    Ok(ingress_view(&row, urls))
}

/// The id of a workflow's webhook.
pub async fn id_of(
    client: &impl GenericClient,
    workflow: WorkflowId,
    given: &str,
) -> Result<Uuid, Error> {
    let statement = client
        .prepare_cached("SELECT id FROM webhooks WHERE workflow_id = $1")
        .await?;
    let row = client.query_opt(&statement, &[&workflow.uuid()]).await?;
    row.map(|row| row.get(0))
        .ok_or_else(|| Error::WorkflowNotFound(given.to_owned()))
}

async fn select(client: &impl GenericClient, id: WorkflowId) -> Result<Option<Row>, Error> {
    let statement = client
        .prepare_cached(&format!("SELECT {COLUMNS} {SELECT_BY_WORKFLOW}"))
        .await?;
    Ok(client.query_opt(&statement, &[&id.uuid()]).await?)
}

fn status(given: &str) -> Result<String, Error> {
    let status = given.trim().to_ascii_lowercase();
    match status.as_str() {
        "online" | "offline" => Ok(status),
        _ => Err(Error::invalid(format!(
            "Unsupported status: {given} (allowed: online, offline)"
        ))),
    }
}

fn admin_view(row: &Row, urls: &UrlSecrets) -> v1::Webhook {
    let webhook: Uuid = row.get(0);
    let workflow = WorkflowId::new(row.get(1));
    let previous_url_expires_at = in_grace(row, 15);
    let api_key = row.get::<_, Option<String>>(7).map(|preview| {
        let created_at: SystemTime = row.get(8);
        let last_used_at: Option<SystemTime> = row.get(9);
        let revoked_at: Option<SystemTime> = row.get(10);
        v1::ApiKeyInfo {
            preview,
            created_at: Some(created_at.into()),
            last_used_at: last_used_at.map(Into::into),
            revoked_at: revoked_at.map(Into::into),
            is_active: revoked_at.is_none(),
            previous_expires_at: in_grace(row, 18).map(Into::into),
        }
    });
    v1::Webhook {
        workflow_id: workflow.short(),
        status: row.get(2),
        methods: row.get(3),
        allowlisted_cidrs: row.get(4),
        include_headers: row.get(5),
        url: urls.url(workflow, webhook, row.get(13)),
        api_key,
        previous_url_expires_at: previous_url_expires_at.map(Into::into),
        dedup: row.get(19),
    }
}

fn ingress_view(row: &Row, urls: &UrlSecrets) -> v1::WebhookConfig {
    let webhook: Uuid = row.get(0);
    let workflow: Uuid = row.get(1);
    let status = match row.get::<_, &str>(2) {
        "online" => v1::WebhookStatus::Online,
        _ => v1::WebhookStatus::Offline,
    };
    let api_key = row
        .get::<_, Option<String>>(11)
        .map(|hash_hex| v1::ApiKeyMaterial {
            hash_hex,
            salt_b64: row.get(12),
            active: row.get::<_, Option<SystemTime>>(10).is_none(),
            expires_at: None,
        });
    let previous_api_key = in_grace(row, 18).and_then(|expires_at| {
        Some(v1::ApiKeyMaterial {
            hash_hex: row.get::<_, Option<String>>(16)?,
            salt_b64: row.get::<_, Option<String>>(17)?,
            active: true,
            expires_at: Some(expires_at.into()),
        })
    });
    let mut secret_sha256 = vec![urls.digest(webhook, row.get(13))];
    let mut secret_expiries = vec![v1::SecretExpiry { expires_at: None }];
    if let (Some(expires_at), Some(generation)) = (in_grace(row, 15), row.get(14)) {
        secret_sha256.push(urls.digest(webhook, generation));
        secret_expiries.push(v1::SecretExpiry {
            expires_at: Some(expires_at.into()),
        });
    }
    v1::WebhookConfig {
        workflow_id: workflow.to_string(),
        webhook_id: webhook.to_string(),
        status: status.into(),
        methods: row.get(3),
        allowlisted_cidrs: row.get(4),
        include_headers: row.get(5),
        published_version: row.get(6),
        secret_sha256,
        api_key,
        secret_expiries,
        previous_api_key,
    }
}

/// The expiry in column `index` when it is still ahead: the end of a grace period that
/// has not ended.
fn in_grace(row: &Row, index: usize) -> Option<SystemTime> {
    row.get::<_, Option<SystemTime>>(index)
        .filter(|expires_at| *expires_at > SystemTime::now())
}
