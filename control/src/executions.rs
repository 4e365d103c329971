//! Executions: created by the ingress, one per trigger of a webhook request (written by
//! `group_commit`), and read back by administrators.

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
#[derive(Clone)]
pub struct NewExecutions {
    pub request_id: Uuid,
    pub workflow: WorkflowId,
    pub webhook: Uuid,
    /// JSON text, one per execution; `None` for a request without a payload.
    pub triggers: Vec<Option<String>>,
    pub received_at: SystemTime,
    pub client_ip: Option<IpAddr>,
    pub method: String,
    pub media_type: String,
    /// The sender's delivery id, if the request carried one (see `dedup`).
    pub dedup_key: Option<String>,
}

impl NewExecutions {
    /// The size of the request's payloads, which dominates the size of its rows.
    pub fn trigger_bytes(&self) -> usize {
        self.triggers.iter().flatten().map(String::len).sum()
    }
}

/// What became of a request.
#[derive(Clone, Debug)]
pub struct Created {
    pub outcome: Outcome,
    /// One per trigger, in order; empty unless the outcome is `Created`.
    pub wf_exec_ids: Vec<String>,
    /// A repeat of an earlier delivery: the ids are that delivery's.
    pub duplicate: bool,
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
             ORDER BY id DESC LIMIT $2"
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
