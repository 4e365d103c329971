use serde_json::{Value, json};
use sluice_proto::v1::ListAuditEventsRequest;

use super::{Answer, Control, layout};
use crate::args::AuditCommand;

pub async fn run(control: &mut Control, command: AuditCommand) -> anyhow::Result<Answer> {
    match command {
        AuditCommand::List { workflow, limit } => {
            let request = ListAuditEventsRequest {
                workflow_id: workflow.unwrap_or_default(),
                limit,
            };
            let listed = control.client.list_audit_events(request).await;
            let events = listed
                .map_err(|status| control.failure(status))?
                .into_inner()
                .events;
            let rows: Vec<Vec<String>> = events
                .iter()
                .map(|event| {
                    vec![
                        layout::timestamp(event.occurred_at.as_ref()).unwrap_or_default(),
                        format!("{} ({})", event.actor, event.actor_role),
                        event.action.clone(),
                        event.workflow_id.clone(),
                    ]
                })
                .collect();
            let json = events
                .iter()
                .map(|event| {
                    json!({
                        "id": event.id,
                        "occurred_at": layout::timestamp_json(event.occurred_at.as_ref()),
                        "actor": event.actor,
                        "actor_role": event.actor_role,
                        "action": event.action,
                        "workflow_id": event.workflow_id,
                        "before": parse(&event.before_json),
                        "after": parse(&event.after_json),
                    })
                })
                .collect();
            Ok(Answer {
                json: Value::Array(json),
                text: layout::table(&["WHEN", "WHO", "WHAT", "WORKFLOW"], &rows),
            })
        }
    }
}

/// The stored description, or `null` when there is none.
fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}
