//! Executions: created by the ingress, one per trigger of a webhook request, and read
//! back by administrators.

use std::{net::IpAddr, time::SystemTime};

use sluice_proto::{
    ids::{ExecutionId, WorkflowId},
    v1::{self, create_execution_response::Outcome},
};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::{error::Error, store::Store, workflows};

/// Used when a list request gives no limit.
const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 10_000;

const COLUMNS: &str = "wf_exec_id, workflow_id, webhook_id, definition_version,
     coalesce(trigger::text, 'null'), status, created_at, host(client_ip), method,
     media_type, trigger_type";

/// One webhook request, as the ingress hands it over.
pub struct NewExecutions<'a> {
    pub request_id: Uuid,
    pub workflow: WorkflowId,
    pub webhook: Uuid,
    /// JSON text, one per execution; `None` for a request without a payload.
    pub triggers: Vec<Option<&'a str>>,
    pub received_at: SystemTime,
    pub client_ip: Option<IpAddr>,
    pub method: &'a str,
    pub media_type: &'a str,
}

/// What became of a request.
pub struct Created {
    pub outcome: Outcome,
    /// One per trigger, in order; empty unless the outcome is `Created`.
    pub wf_exec_ids: Vec<String>,
}

/// Creates every execution of one request in one transaction. A retry of a request
/// that was already committed creates nothing and returns the first ids.
pub async fn create(store: &Store, request: &NewExecutions<'_>) -> Result<Created, Error> {
    let mut client = store.client().await?;
    let transaction = client.transaction().await?;

    // Sharing the webhook row makes a concurrent switch to offline wait for this
    // request, and this request wait for it: once "offline" has committed, nothing more
    // is created.
    let webhook = transaction
        .prepare_cached(
            "SELECT h.status,
                 (SELECT max(d.version) FROM workflow_definitions d
                  WHERE d.workflow_id = h.workflow_id)
             FROM webhooks h
             WHERE h.workflow_id = $1 AND h.id = $2
             FOR SHARE OF h",
        )
        .await?;
    let row = transaction
        .query_opt(&webhook, &[&request.workflow.uuid(), &request.webhook])
        .await?;
    let checked = match row.as_ref().map(|row| (row.get::<_, &str>(0), row.get(1))) {
        None => Err(Outcome::WebhookNotFound),
        Some((status, _)) if status != "online" => Err(Outcome::WebhookOffline),
        Some((_, None)) => Err(Outcome::NotPublished),
        Some((_, Some(version))) => Ok(version),
    };
    let version: i32 = match checked {
        Ok(version) => version,
        Err(outcome) => {
            // A retry whose first attempt committed just before the webhook changed
            // still gets the executions it created.
            let existing = existing_ids(&transaction, request.request_id).await?;
            let outcome = if existing.is_empty() {
                outcome
            } else {
                Outcome::Created
            };
            return Ok(Created {
                outcome,
                wf_exec_ids: existing,
            });
        }
    };

    let ids: Vec<ExecutionId> = request
        .triggers
        .iter()
        .map(|_| ExecutionId::generate(request.workflow))
        .collect();
    let uuids: Vec<Uuid> = ids.iter().map(|id| id.execution).collect();
    let wf_exec_ids: Vec<String> = ids.iter().map(ToString::to_string).collect();

    // One statement for all triggers, so a 100 000-line request is one round trip.
    // Triggers are cast from text by PostgreSQL, which rejects what jsonb cannot hold.
    let insert = transaction
        .prepare_cached(
            "INSERT INTO executions (id, wf_exec_id, workflow_id, webhook_id,
                 definition_version, trigger, request_id, request_seq, client_ip, method,
                 media_type, received_at)
             SELECT t.id, t.wf_exec_id, $4, $5, $6, t.trigger::jsonb, $7, t.seq::int, $8,
                 $9, $10, $11
             FROM unnest($1::uuid[], $2::text[], $3::text[])
                 WITH ORDINALITY AS t(id, wf_exec_id, trigger, seq)
             ON CONFLICT (request_id, request_seq) DO NOTHING",
        )
        .await?;
    let inserted = transaction
        .execute(
            &insert,
            &[
                &uuids,
                &wf_exec_ids,
                &request.triggers,
                &request.workflow.uuid(),
                &request.webhook,
                &version,
                &request.request_id,
                &request.client_ip,
                &request.method,
                &request.media_type,
                &request.received_at,
            ],
        )
        .await;
    let inserted = match inserted {
        Ok(inserted) => inserted,
        Err(error) if workflows::is_invalid_json(&error) => {
            return Err(Error::invalid("invalid trigger payload"));
        }
        Err(error) => return Err(error.into()),
    };

    let wf_exec_ids = if inserted == wf_exec_ids.len() as u64 {
        wf_exec_ids
    } else {
        existing_ids(&transaction, request.request_id).await?
    };
    transaction.commit().await?;
    Ok(Created {
        outcome: Outcome::Created,
        wf_exec_ids,
    })
}

/// The executions a request already created, in trigger order.
async fn existing_ids(
    client: &impl deadpool_postgres::GenericClient,
    request_id: Uuid,
) -> Result<Vec<String>, Error> {
    let statement = client
        .prepare_cached(
            "SELECT wf_exec_id FROM executions WHERE request_id = $1 ORDER BY request_seq",
        )
        .await?;
    let rows = client.query(&statement, &[&request_id]).await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

pub async fn get(store: &Store, wf_exec_id: &str) -> Result<v1::Execution, Error> {
    let not_found = || Error::ExecutionNotFound(wf_exec_id.to_owned());
    let id = ExecutionId::parse(wf_exec_id.trim()).ok_or_else(not_found)?;

    let client = store.client().await?;
    let statement = client
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM executions WHERE id = $1 AND workflow_id = $2"
        ))
        .await?;
    let row = client
        .query_opt(&statement, &[&id.execution, &id.workflow.uuid()])
        .await?;
    row.map(|row| from_row(&row)).ok_or_else(not_found)
}

/// The workflow's newest executions, newest first.
pub async fn list(store: &Store, workflow: &str, limit: u32) -> Result<Vec<v1::Execution>, Error> {
    let id = workflows::parse_id(workflow)?;
    let limit = match limit {
        0 => DEFAULT_LIMIT,
        1..=MAX_LIMIT => limit,
        _ => return Err(Error::invalid("Limit must be between 1 and 10000")),
    };

    let client = store.client().await?;
    let exists = client
        .prepare_cached("SELECT 1 FROM workflows WHERE id = $1")
        .await?;
    if client.query_opt(&exists, &[&id.uuid()]).await?.is_none() {
        return Err(Error::WorkflowNotFound(workflow.to_owned()));
    }
    let statement = client
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM executions WHERE workflow_id = $1
             ORDER BY created_at DESC, id DESC LIMIT $2"
        ))
        .await?;
    let rows = client
        .query(&statement, &[&id.uuid(), &i64::from(limit)])
        .await?;
    Ok(rows.iter().map(from_row).collect())
}

fn from_row(row: &Row) -> v1::Execution {
    let created_at: SystemTime = row.get(6);
    v1::Execution {
        wf_exec_id: row.get(0),
        workflow_id: WorkflowId::new(row.get(1)).short(),
        webhook_id: row.get::<_, Uuid>(2).to_string(),
        definition_version: row.get(3),
        trigger_json: row.get(4),
        status: row.get(5),
        created_at: Some(created_at.into()),
        client_ip: row.get::<_, Option<String>>(7).unwrap_or_default(),
        method: row.get(8),
        media_type: row.get(9),
        trigger_type: row.get(10),
    }
}
