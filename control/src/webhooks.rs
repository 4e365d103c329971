//! Each workflow's webhook: its status, methods, IP allowlist and header setting, as
//! administrators see it and as the ingress needs it.

use std::time::SystemTime;

use deadpool_postgres::GenericClient;
use sluice_proto::{ids::WorkflowId, v1};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::{allowlist, error::Error, methods, store::Store, url_secrets::UrlSecrets, watch};

/// The columns the row readers below take, for a query over `webhooks h` left-joined
/// with `webhook_api_keys k`.
const COLUMNS: &str = "h.id, h.workflow_id, h.status, h.methods, h.allowlisted_cidrs,
     h.include_headers,
     (SELECT max(d.version) FROM workflow_definitions d WHERE d.workflow_id = h.workflow_id),
     k.preview, k.created_at, k.last_used_at, k.revoked_at, k.hash, k.salt";

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
    let statement = transaction
        .prepare_cached(
            "UPDATE webhooks SET
                 status = coalesce($2, status),
                 methods = coalesce($3, methods),
                 allowlisted_cidrs = coalesce($4, allowlisted_cidrs),
                 include_headers = coalesce($5, include_headers),
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
            ],
        )
        .await?;
    if updated == 0 {
        return Err(Error::WorkflowNotFound(workflow.to_owned()));
    }
    watch::notify_change(&transaction, id.uuid()).await?;
    let row = select(&transaction, id)
        .await?
        .ok_or_else(|| Error::WorkflowNotFound(workflow.to_owned()))?;
    transaction.commit().await?;
    Ok(admin_view(&row, urls))
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
        }
    });
    v1::Webhook {
        workflow_id: workflow.short(),
        status: row.get(2),
        methods: row.get(3),
        allowlisted_cidrs: row.get(4),
        include_headers: row.get(5),
        url: urls.url(workflow, webhook),
        api_key,
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
        });
    v1::WebhookConfig {
        workflow_id: workflow.to_string(),
        webhook_id: webhook.to_string(),
        status: status.into(),
        methods: row.get(3),
        allowlisted_cidrs: row.get(4),
        include_headers: row.get(5),
        published_version: row.get(6),
        secret_sha256: vec![urls.digest(webhook)],
        api_key,
    }
}
