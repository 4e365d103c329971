//! The audit log: one row per admin change, written in the transaction of the change,
//! so that a change and its record are committed together or not at all.

use std::time::SystemTime;

use deadpool_postgres::GenericClient;
use serde_json::Value;
use sluice_proto::{ids::WorkflowId, v1};
use uuid::Uuid;

use crate::{auth::Caller, error::Error, store::Store};

/// The most events one listing returns, and the number when the caller gives none.
const MAX_LIMIT: u32 = 10_000;
const DEFAULT_LIMIT: u32 = 100;

/// One change, described without secrets.
pub struct Event<'a> {
    pub caller: &'a Caller,
    /// The RPC that made the change, e.g. `UpdateWebhook`.
    pub action: &'static str,
    pub workflow: Option<Uuid>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Records `event` on `client`, which should be the change's own transaction.
pub async fn record(client: &impl GenericClient, event: Event<'_>) -> Result<(), Error> {
    let statement = client
        .prepare_cached(
            "INSERT INTO audit_events (actor, actor_role, action, workflow_id, before, after)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .await?;
    let role = event.caller.role.map(|role| role.as_str());
    client
        .execute(
            &statement,
            &[
                &event.caller.name,
                &role,
                &event.action,
                &event.workflow,
                &event.before,
                &event.after,
            ],
        )
        .await?;
    Ok(())
}

/// The newest events first, of one workflow when `workflow` is not empty.
pub async fn list(store: &Store, workflow: &str, limit: u32) -> Result<Vec<v1::AuditEvent>, Error> {
    let workflow = match workflow {
        "" => None,
        given => Some(crate::workflows::parse_id(given)?.uuid()),
    };
    let limit = i64::from(match limit {
        0 => DEFAULT_LIMIT,
        limit => limit.min(MAX_LIMIT),
    });
    let client = store.client().await?;
    let statement = client
        .prepare_cached(
            "SELECT id, occurred_at, actor, actor_role, action, workflow_id, before, after
             FROM audit_events
             WHERE $1::uuid IS NULL OR workflow_id = $1
             ORDER BY id DESC
             LIMIT $2",
        )
        .await?;
    let rows = client.query(&statement, &[&workflow, &limit]).await?;
    Ok(rows
        .iter()
        .map(|row| {
            let occurred_at: SystemTime = row.get(1);
            let workflow: Option<Uuid> = row.get(5);
            let json = |index| {
                row.get::<_, Option<Value>>(index)
                    .map(|value| value.to_string())
                    .unwrap_or_default()
            };
            v1::AuditEvent {
                id: row.get(0),
                occurred_at: Some(occurred_at.into()),
                actor: row.get(2),
                actor_role: row.get::<_, Option<String>>(3).unwrap_or_default(),
                action: row.get(4),
                workflow_id: workflow
                    .map(|id| WorkflowId::new(id).short())
                    .unwrap_or_default(),
                before_json: json(6),
                after_json: json(7),
            }
        })
        .collect())
}
