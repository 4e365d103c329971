//! The gRPC calls the tests make, spelled once.

use std::time::{Duration, SystemTime};

use sluice_proto::v1;
use tokio_stream::StreamExt;
use uuid::Uuid;

use crate::support::Control;

pub async fn create_workflow(control: &Control, title: &str) -> v1::Workflow {
    control
        .admin
        .clone()
        .create_workflow(v1::CreateWorkflowRequest {
            title: title.to_owned(),
        })
        .await
        .expect("create a workflow")
        .into_inner()
}

pub async fn publish(
    control: &Control,
    workflow: &str,
    definition: &str,
) -> Result<i32, tonic::Status> {
    control
        .admin
        .clone()
        .publish_workflow(v1::PublishWorkflowRequest {
            workflow_id: workflow.to_owned(),
            definition_json: definition.to_owned(),
        })
        .await
        .map(|response| response.into_inner().version)
}

pub async fn update(
    control: &Control,
    request: v1::UpdateWebhookRequest,
) -> Result<v1::Webhook, tonic::Status> {
    control
        .admin
        .clone()
        .update_webhook(request)
        .await
        .map(tonic::Response::into_inner)
}

pub fn set_status(workflow: &str, status: &str) -> v1::UpdateWebhookRequest {
    v1::UpdateWebhookRequest {
        workflow_id: workflow.to_owned(),
        status: Some(status.to_owned()),
        ..Default::default()
    }
}

pub fn list(values: &[&str]) -> v1::StringList {
    v1::StringList {
        values: values.iter().map(|value| (*value).to_owned()).collect(),
    }
}

pub async fn config(control: &Control, workflow: &str) -> v1::WebhookConfig {
    control
        .ingress
        .clone()
        .get_webhook_config(v1::GetWebhookConfigRequest {
            workflow_id: workflow.to_owned(),
        })
        .await
        .expect("get the webhook config")
        .into_inner()
}

/// A workflow with a published definition and an online webhook.
pub async fn ready_workflow(control: &Control) -> v1::WebhookConfig {
    let workflow = create_workflow(control, "Ready").await;
    publish(control, &workflow.id, "")
        .await
        .expect("publish the workflow");
    update(control, set_status(&workflow.id, "online"))
        .await
        .expect("switch the webhook online");
    config(control, &workflow.id).await
}

/// Three webhooks, one for each answer a creation can get besides an error.
pub struct Webhooks {
    /// Online and published.
    pub online: v1::WebhookConfig,
    /// Published, then switched offline.
    pub offline: v1::WebhookConfig,
    /// Online, with nothing published.
    pub unpublished: v1::WebhookConfig,
}

pub async fn one_of_each(control: &Control) -> Webhooks {
    let online = ready_workflow(control).await;
    let offline = ready_workflow(control).await;
    update(control, set_status(&offline.workflow_id, "offline"))
        .await
        .expect("switch the webhook offline");
    let unpublished = create_workflow(control, "never published").await;
    update(control, set_status(&unpublished.id, "online"))
        .await
        .expect("switch the webhook online");
    let unpublished = config(control, &unpublished.id).await;
    Webhooks {
        online,
        offline,
        unpublished,
    }
}

pub fn execution_request(
    config: &v1::WebhookConfig,
    triggers: &[&str],
) -> v1::CreateExecutionRequest {
    v1::CreateExecutionRequest {
        request_id: Uuid::new_v4().to_string(),
        workflow_id: config.workflow_id.clone(),
        webhook_id: config.webhook_id.clone(),
        triggers: triggers
            .iter()
            .map(|t| t.as_bytes().to_vec().into())
            .collect(),
        received_at: Some(SystemTime::now().into()),
        client_ip: "203.0.113.7".to_owned(),
        method: "POST".to_owned(),
        media_type: "application/x-ndjson".to_owned(),
        api_key_used: false,
        dedup_key: String::new(),
        trace_context: Default::default(),
    }
}

/// The ids stored for a request's executions, in trigger order.
pub async fn stored_ids(control: &Control, request_id: &str) -> Vec<String> {
    control
        .db
        .query(
            "SELECT wf_exec_id FROM executions WHERE request_id = $1::text::uuid
             ORDER BY request_seq",
            &[&request_id],
        )
        .await
        .expect("read a request's executions")
        .iter()
        .map(|row| row.get(0))
        .collect()
}

pub async fn create_execution(
    control: &Control,
    request: v1::CreateExecutionRequest,
) -> Result<v1::CreateExecutionResponse, tonic::Status> {
    control
        .ingress
        .clone()
        .create_execution(request)
        .await
        .map(tonic::Response::into_inner)
}

pub async fn next_change(changes: &mut tonic::Streaming<v1::WebhookChange>) -> v1::WebhookChange {
    tokio::time::timeout(Duration::from_secs(5), changes.next())
        .await
        .expect("a change arrives within 5 s")
        .expect("the stream stays open")
        .expect("the stream carries no error")
}

/// Reads until a batch names `expected`, passing over resyncs and changes of the
/// test's `earlier` workflows (their creation may still be on its way).
pub async fn wait_for_change(
    changes: &mut tonic::Streaming<v1::WebhookChange>,
    expected: &str,
    earlier: &[String],
) {
    loop {
        let change = next_change(changes).await;
        if change.workflow_ids.iter().any(|id| id == expected) {
            return;
        }
        for id in &change.workflow_ids {
            assert!(earlier.contains(id), "unexpected change of {id}");
        }
    }
}

/// Waits until the control plane's listener has run LISTEN, so that no notification
/// sent from now on is missed.
pub async fn wait_until_listening(control: &Control) {
    for _ in 0..100 {
        let listening = control
            .count(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND query LIKE 'LISTEN %'",
            )
            .await;
        if listening > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the change listener listens within 5 s");
}

pub fn uuid_of(workflow: &v1::Workflow) -> String {
    sluice_proto::ids::WorkflowId::parse(&workflow.id)
        .expect("the control plane returns valid workflow ids")
        .uuid()
        .to_string()
}

/// Ends every other session on the test's database, as a restarted server would.
pub async fn terminate_other_sessions(control: &Control) -> i64 {
    control
        .count(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .await
}
