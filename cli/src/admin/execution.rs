use anyhow::Context;
use serde_json::{Value, json};
use sluice_proto::v1::{Execution, GetExecutionRequest, ListExecutionsRequest};

use super::{Answer, Control, layout};
use crate::args::ExecutionsCommand;

pub async fn run(control: &mut Control, command: ExecutionsCommand) -> anyhow::Result<Answer> {
    match command {
        ExecutionsCommand::List { workflow, limit } => {
            let request = ListExecutionsRequest {
                workflow_id: workflow,
                limit,
            };
            let listed = control.client.list_executions(request).await;
            let executions = listed
                .map_err(|status| control.failure(status))?
                .into_inner()
                .executions;
            many(&executions)
        }
        ExecutionsCommand::Get { wf_exec_id } => {
            let request = GetExecutionRequest { wf_exec_id };
            let execution = control.client.get_execution(request).await;
            one(&execution
                .map_err(|status| control.failure(status))?
                .into_inner())
        }
    }
}

/// The trigger as a JSON value rather than the text it travels as.
fn trigger(execution: &Execution) -> anyhow::Result<Value> {
    if execution.trigger_json.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(&execution.trigger_json).with_context(|| {
        format!(
            "the control plane sent a trigger for {} that is not JSON",
            execution.wf_exec_id
        )
    })
}

fn to_json(execution: &Execution) -> anyhow::Result<Value> {
    Ok(json!({
        "wf_exec_id": execution.wf_exec_id,
        "workflow_id": execution.workflow_id,
        "trigger": trigger(execution)?,
        "status": execution.status,
        "created_at": layout::timestamp_json(execution.created_at.as_ref()),
        "client_ip": execution.client_ip,
        "method": execution.method,
        "media_type": execution.media_type,
        "definition_version": execution.definition_version,
        "trigger_type": execution.trigger_type,
    }))
}

fn one(execution: &Execution) -> anyhow::Result<Answer> {
    let json = to_json(execution)?;
    let trigger = serde_json::to_string_pretty(&json["trigger"])
        .context("format the trigger")?
        .replace('\n', "\n  ");
    let fields = layout::fields(&[
        ("wf_exec_id", execution.wf_exec_id.clone()),
        ("workflow", execution.workflow_id.clone()),
        ("status", execution.status.clone()),
        (
            "created",
            layout::timestamp(execution.created_at.as_ref()).unwrap_or_default(),
        ),
        ("client ip", execution.client_ip.clone()),
        ("method", execution.method.clone()),
        ("media type", execution.media_type.clone()),
        (
            "definition version",
            execution.definition_version.to_string(),
        ),
        ("trigger type", execution.trigger_type.clone()),
    ]);
    Ok(Answer {
        json,
        text: format!("{fields}\ntrigger:\n  {trigger}"),
    })
}

fn many(executions: &[Execution]) -> anyhow::Result<Answer> {
    let json = executions
        .iter()
        .map(to_json)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let rows: Vec<Vec<String>> = executions
        .iter()
        .map(|execution| {
            vec![
                execution.wf_exec_id.clone(),
                layout::timestamp(execution.created_at.as_ref()).unwrap_or_default(),
                execution.method.clone(),
                execution.media_type.clone(),
                execution.client_ip.clone(),
                execution.status.clone(),
            ]
        })
        .collect();
    let text = if rows.is_empty() {
        "no executions".to_owned()
    } else {
        layout::table(
            &[
                "WF_EXEC_ID",
                "CREATED",
                "METHOD",
                "MEDIA TYPE",
                "CLIENT IP",
                "STATUS",
            ],
            &rows,
        )
    };
    Ok(Answer {
        json: Value::Array(json),
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn execution(trigger_json: &str) -> Execution {
        Execution {
            wf_exec_id: "wf_a/exec_b".into(),
            workflow_id: "wf_a".into(),
            webhook_id: "w".into(),
            definition_version: 2,
            trigger_json: trigger_json.into(),
            status: "queued".into(),
            created_at: None,
            client_ip: "127.0.0.1".into(),
            method: "POST".into(),
            media_type: "application/json".into(),
            trigger_type: "webhook".into(),
        }
    }

    #[test]
    fn trigger_is_printed_as_json_not_as_a_string() {
        let json = to_json(&execution(r#"{"alert_id":"A-1"}"#)).unwrap();
        assert_eq!(json["trigger"], json!({"alert_id": "A-1"}));
        assert_eq!(json["definition_version"], json!(2));
        assert_eq!(json["created_at"], Value::Null);
    }

    #[test]
    fn a_request_without_payload_has_a_null_trigger() {
        assert_eq!(to_json(&execution("null")).unwrap()["trigger"], Value::Null);
        assert_eq!(to_json(&execution("")).unwrap()["trigger"], Value::Null);
    }
}
