//! The SQL of the queue: leasing, extending and completing executions.

use std::time::{Duration, SystemTime};

use deadpool_postgres::GenericClient;
use sluice_proto::{
    ids::{ExecutionId, WorkflowId},
    v1,
};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::error::Error;

const COLUMNS: &str = "e.wf_exec_id, e.workflow_id, e.webhook_id, e.definition_version,
     coalesce(e.trigger::text, 'null'), e.status, e.created_at, host(e.client_ip), e.method,
     e.media_type, e.trigger_type, e.attempts, e.lease_expires_at";

/// Why a worker may not change an execution.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Control(#[from] Error),
    /// The worker holds no unexpired lease on the execution; the message says why.
    #[error("{0}")]
    NotHeld(String),
}

impl From<tokio_postgres::Error> for WorkerError {
    fn from(error: tokio_postgres::Error) -> Self {
        Self::Control(Error::from(error))
    }
}

/// Leases up to `limit` executions for `worker`, oldest first. Rows another worker is
/// leasing right now are skipped rather than waited for, and a lease that ran out is
/// as good as queued.
pub async fn lease(
    client: &impl GenericClient,
    worker: &str,
    limit: i64,
    duration: Duration,
) -> Result<Vec<v1::LeasedExecution>, Error> {
    let statement = client
        .prepare_cached(&format!(
            "WITH picked AS (
                 SELECT id FROM executions
                 WHERE status IN ('queued', 'leased')
                   AND (status = 'queued' OR lease_expires_at < now())
                 ORDER BY id
                 LIMIT $1
                 FOR UPDATE SKIP LOCKED
             ),
             leased AS (
                 UPDATE executions e
                 SET status = 'leased', lease_owner = $2,
                     lease_expires_at = now() + make_interval(secs => $3),
                     attempts = e.attempts + 1
                 FROM picked
                 WHERE e.id = picked.id
                 RETURNING {COLUMNS}, e.id AS age_order
             )
             -- UPDATE … RETURNING keeps no order; ids are time-ordered.
             SELECT * FROM leased ORDER BY age_order"
        ))
        .await?;
    let rows = client
        .query(&statement, &[&limit, &worker, &duration.as_secs_f64()])
        .await?;
    Ok(rows.iter().map(leased_from_row).collect())
}

/// Extends the unexpired leases `worker` holds among `wf_exec_ids`; returns the ids it
/// extended and the new expiry.
pub async fn extend(
    client: &impl GenericClient,
    worker: &str,
    wf_exec_ids: &[String],
    duration: Duration,
) -> Result<(Vec<String>, Option<SystemTime>), Error> {
    let ids = parse_ids(wf_exec_ids)?;
    let executions: Vec<Uuid> = ids.iter().map(|id| id.execution).collect();
    let workflows: Vec<Uuid> = ids.iter().map(|id| id.workflow.uuid()).collect();
    let statement = client
        .prepare_cached(
            "UPDATE executions e
             SET lease_expires_at = now() + make_interval(secs => $4)
             FROM unnest($1::uuid[], $2::uuid[]) AS wanted(id, workflow_id)
             WHERE e.id = wanted.id AND e.workflow_id = wanted.workflow_id
               AND e.status = 'leased' AND e.lease_owner = $3
               AND e.lease_expires_at >= now()
             RETURNING e.wf_exec_id, e.lease_expires_at",
        )
        .await?;
    let rows = client
        .query(
            &statement,
            &[&executions, &workflows, &worker, &duration.as_secs_f64()],
        )
        .await?;
    let expires_at = rows.first().map(|row| row.get(1));
    Ok((rows.iter().map(|row| row.get(0)).collect(), expires_at))
}

/// Records the result of an execution `worker` holds an unexpired lease on.
pub async fn complete(
    client: &impl GenericClient,
    worker: &str,
    wf_exec_id: &str,
    failure: Option<&str>,
) -> Result<&'static str, WorkerError> {
    let not_found = || Error::ExecutionNotFound(wf_exec_id.to_owned());
    let id = ExecutionId::parse(wf_exec_id.trim()).ok_or_else(not_found)?;
    let status = if failure.is_some() {
        "failed"
    } else {
        "succeeded"
    };
    let statement = client
        .prepare_cached(
            "UPDATE executions
             SET status = $4, failure_reason = $5, completed_at = now(),
                 lease_expires_at = NULL
             WHERE id = $1 AND workflow_id = $2 AND status = 'leased' AND lease_owner = $3
               AND lease_expires_at >= now()",
        )
        .await?;
    let updated = client
        .execute(
            &statement,
            &[
                &id.execution,
                &id.workflow.uuid(),
                &worker,
                &status,
                &failure,
            ],
        )
        .await?;
    if updated == 1 {
        return Ok(status);
    }

    let statement = client
        .prepare_cached(
            "SELECT status, lease_owner = $3
             FROM executions WHERE id = $1 AND workflow_id = $2",
        )
        .await?;
    let row = client
        .query_opt(&statement, &[&id.execution, &id.workflow.uuid(), &worker])
        .await?;
    let Some(row) = row else {
        return Err(not_found().into());
    };
    let current: &str = row.get(0);
    let owned: Option<bool> = row.get(1);
    let reason = match (current, owned) {
        ("succeeded" | "failed", _) => format!("Execution {wf_exec_id} is already {current}"),
        ("leased", Some(true)) => format!("The lease on execution {wf_exec_id} has expired"),
        ("leased", _) => format!("Execution {wf_exec_id} is leased by another worker"),
        _ => format!("Execution {wf_exec_id} is not leased"),
    };
    Err(WorkerError::NotHeld(reason))
}

/// The ids, decoded; ids that cannot be execution ids are refused.
fn parse_ids(wf_exec_ids: &[String]) -> Result<Vec<ExecutionId>, Error> {
    wf_exec_ids
        .iter()
        .map(|id| ExecutionId::parse(id.trim()).ok_or_else(|| Error::ExecutionNotFound(id.clone())))
        .collect()
}

fn leased_from_row(row: &Row) -> v1::LeasedExecution {
    let created_at: SystemTime = row.get(6);
    let lease_expires_at: SystemTime = row.get(12);
    let attempts: i32 = row.get(11);
    v1::LeasedExecution {
        execution: Some(v1::Execution {
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
        }),
        attempt: u32::try_from(attempts).unwrap_or_default(),
        lease_expires_at: Some(lease_expires_at.into()),
    }
}
