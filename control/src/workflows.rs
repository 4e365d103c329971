//! Workflows and their published definition versions.

use std::time::SystemTime;

use sluice_proto::{ids::WorkflowId, v1};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::{
    audit::{self, Event},
    auth::Caller,
    error::Error,
    store::Store,
    watch,
};

/// The columns `from_row` reads, for a query over `workflows w`.
const COLUMNS: &str = "w.id, w.title, w.created_at,
     (SELECT max(d.version) FROM workflow_definitions d WHERE d.workflow_id = w.id)";

/// A workflow id as a caller gave it. Ids are not secret, so an unknown one is named
/// in the answer.
pub fn parse_id(given: &str) -> Result<WorkflowId, Error> {
    WorkflowId::parse(given.trim()).ok_or_else(|| Error::WorkflowNotFound(given.to_owned()))
}

/// Creates a workflow and its webhook, which starts offline and accepts POST.
pub async fn create(store: &Store, caller: &Caller, title: &str) -> Result<v1::Workflow, Error> {
    let title = title.trim();
    if title.is_empty() {
        return Err(Error::invalid("Title must not be empty"));
    }
    let id = Uuid::new_v4();

    let mut client = store.client().await?;
    let transaction = client.transaction().await?;
    let insert_workflow = transaction
        .prepare_cached("INSERT INTO workflows (id, title) VALUES ($1, $2) RETURNING created_at")
        .await?;
    let created_at: SystemTime = transaction
        .query_one(&insert_workflow, &[&id, &title])
        .await?
        .get(0);
    let insert_webhook = transaction
        .prepare_cached("INSERT INTO webhooks (id, workflow_id) VALUES ($1, $2)")
        .await?;
    transaction
        .execute(&insert_webhook, &[&Uuid::new_v4(), &id])
        .await?;
    watch::notify_change(&transaction, id).await?;
    let event = Event {
        caller,
        action: "CreateWorkflow",
        workflow: Some(id),
        before: None,
        after: Some(serde_json::json!({ "title": title })),
    };
    audit::record(&transaction, event).await?;
    transaction.commit().await?;

    Ok(v1::Workflow {
        id: WorkflowId::new(id).short(),
        title: title.to_owned(),
        published_version: None,
        created_at: Some(created_at.into()),
    })
}

pub async fn get(store: &Store, workflow: &str) -> Result<v1::Workflow, Error> {
    let id = parse_id(workflow)?;
    let client = store.client().await?;
    let statement = client
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM workflows w WHERE w.id = $1"
        ))
        .await?;
    let row = client.query_opt(&statement, &[&id.uuid()]).await?;
    row.map(|row| from_row(&row))
        .ok_or_else(|| Error::WorkflowNotFound(workflow.to_owned()))
}

/// Every workflow, newest first.
pub async fn list(store: &Store) -> Result<Vec<v1::Workflow>, Error> {
    let client = store.client().await?;
    let statement = client
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM workflows w ORDER BY w.created_at DESC, w.id"
        ))
        .await?;
    let rows = client.query(&statement, &[]).await?;
    Ok(rows.iter().map(from_row).collect())
}

/// Adds a definition version, one more than the newest.
pub async fn publish(
    store: &Store,
    caller: &Caller,
    workflow: &str,
    definition_json: &str,
) -> Result<v1::PublishWorkflowResponse, Error> {
    let id = parse_id(workflow)?;
    let definition = if definition_json.trim().is_empty() {
        "{}"
    } else {
        definition_json
    };
    if let Err(error) = serde_json::from_str::<serde_json::Value>(definition) {
        return Err(Error::invalid(format!(
            "Workflow definition is not valid JSON: {error}"
        )));
    }

    let mut client = store.client().await?;
    let transaction = client.transaction().await?;

    // Locking the workflow row makes concurrent publishes take turns, so each one
    // sees the version the previous one added.
    let lock = transaction
        .prepare_cached("SELECT 1 FROM workflows WHERE id = $1 FOR NO KEY UPDATE")
        .await?;
    if transaction.query_opt(&lock, &[&id.uuid()]).await?.is_none() {
        return Err(Error::WorkflowNotFound(workflow.to_owned()));
    }

    let insert = transaction
        .prepare_cached(
            "INSERT INTO workflow_definitions (workflow_id, version, definition)
             SELECT $1, coalesce(max(version), 0) + 1, $2::text::jsonb
             FROM workflow_definitions WHERE workflow_id = $1
             RETURNING version",
        )
        .await?;
    let version: i32 = match transaction
        .query_one(&insert, &[&id.uuid(), &definition])
        .await
    {
        Ok(row) => row.get(0),
        Err(error) if is_invalid_json(&error) => {
            return Err(Error::invalid(
                "Workflow definition is not valid JSON: PostgreSQL cannot store it",
            ));
        }
        Err(error) => return Err(error.into()),
    };
    watch::notify_change(&transaction, id.uuid()).await?;
    let event = Event {
        caller,
        action: "PublishWorkflow",
        workflow: Some(id.uuid()),
        before: None,
        after: Some(serde_json::json!({ "published_version": version })),
    };
    audit::record(&transaction, event).await?;
    transaction.commit().await?;
    Ok(v1::PublishWorkflowResponse {
        workflow_id: id.short(),
        version,
    })
}

/// PostgreSQL's jsonb is stricter than JSON: it refuses `\u0000` and invalid text.
pub fn is_invalid_json(error: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;

    error.code().is_some_and(|code| {
        [
            SqlState::UNTRANSLATABLE_CHARACTER,
            SqlState::INVALID_TEXT_REPRESENTATION,
            SqlState::CHARACTER_NOT_IN_REPERTOIRE,
        ]
        .contains(code)
    })
}

fn from_row(row: &Row) -> v1::Workflow {
    let created_at: SystemTime = row.get(2);
    v1::Workflow {
        id: WorkflowId::new(row.get(0)).short(),
        title: row.get(1),
        published_version: row.get(3),
        created_at: Some(created_at.into()),
    }
}
