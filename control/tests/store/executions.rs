//! Creating executions from the ingress and reading them back.

use sluice_proto::v1::{self, create_execution_response::Outcome};
use tonic::Code;
use uuid::Uuid;

use crate::{
    calls::{
        config, create_execution, create_workflow, execution_request, ready_workflow, set_status,
        update,
    },
    support,
};

#[tokio::test]
async fn create_execution_retry_returns_the_same_ids() {
    let Some(control) = support::start().await else {
        return;
    };
    let config = ready_workflow(&control).await;
    let request = execution_request(&config, &[r#"{"n":1}"#, "", "[1,2]"]);

    let first = create_execution(&control, request.clone()).await.unwrap();
    assert_eq!(first.outcome(), Outcome::Created);
    assert_eq!(first.wf_exec_ids.len(), 3);
    let short = sluice_proto::ids::WorkflowId::parse(&config.workflow_id)
        .unwrap()
        .short();
    assert_eq!(first.wf_id, short);
    for id in &first.wf_exec_ids {
        assert!(id.starts_with(&format!("{short}/exec_")), "{id}");
    }

    let again = create_execution(&control, request).await.unwrap();
    assert_eq!(again.outcome(), Outcome::Created);
    assert_eq!(again.wf_exec_ids, first.wf_exec_ids);
    assert_eq!(control.count("SELECT count(*) FROM executions").await, 3);

    // Stored in order, with the request's metadata; an empty trigger is null.
    let listed = control
        .admin
        .clone()
        .list_executions(v1::ListExecutionsRequest {
            workflow_id: config.workflow_id.clone(),
            limit: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .executions;
    let listed: Vec<String> = listed.into_iter().map(|e| e.wf_exec_id).collect();
    let newest_first: Vec<String> = first.wf_exec_ids.iter().rev().cloned().collect();
    assert_eq!(listed, newest_first);

    let second = control
        .admin
        .clone()
        .get_execution(v1::GetExecutionRequest {
            wf_exec_id: first.wf_exec_ids[1].clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.trigger_json, "null");
    assert_eq!(second.workflow_id, short);
    assert_eq!(second.webhook_id, config.webhook_id);
    assert_eq!(second.definition_version, 1);
    assert_eq!(second.status, "queued");
    assert_eq!(second.trigger_type, "webhook");
    assert_eq!(second.client_ip, "203.0.113.7");
    assert_eq!(second.method, "POST");
    assert_eq!(second.media_type, "application/x-ndjson");
    let triggers = control
        .db
        .query(
            "SELECT coalesce(trigger::text, 'null') FROM executions ORDER BY request_seq",
            &[],
        )
        .await
        .unwrap();
    let triggers: Vec<String> = triggers.iter().map(|row| row.get(0)).collect();
    assert_eq!(triggers, [r#"{"n": 1}"#, "null", "[1, 2]"]);
    control.stop().await;
}

#[tokio::test]
async fn refused_requests_store_nothing() {
    let Some(control) = support::start().await else {
        return;
    };

    // Online but nothing published.
    let workflow = create_workflow(&control, "Unpublished").await;
    update(&control, set_status(&workflow.id, "online"))
        .await
        .unwrap();
    let unpublished = config(&control, &workflow.id).await;
    let response = create_execution(&control, execution_request(&unpublished, &["{}"]))
        .await
        .unwrap();
    assert_eq!(response.outcome(), Outcome::NotPublished);
    assert!(response.wf_exec_ids.is_empty());

    // Published but switched offline.
    let offline = ready_workflow(&control).await;
    update(&control, set_status(&offline.workflow_id, "offline"))
        .await
        .unwrap();
    let response = create_execution(&control, execution_request(&offline, &["{}", "{}"]))
        .await
        .unwrap();
    assert_eq!(response.outcome(), Outcome::WebhookOffline);
    assert!(response.wf_exec_ids.is_empty());

    // A workflow or webhook that does not exist.
    let mut missing = offline.clone();
    missing.webhook_id = Uuid::new_v4().to_string();
    let response = create_execution(&control, execution_request(&missing, &["{}"]))
        .await
        .unwrap();
    assert_eq!(response.outcome(), Outcome::WebhookNotFound);
    missing.workflow_id = Uuid::new_v4().to_string();
    let response = create_execution(&control, execution_request(&missing, &["{}"]))
        .await
        .unwrap();
    assert_eq!(response.outcome(), Outcome::WebhookNotFound);

    assert_eq!(control.count("SELECT count(*) FROM executions").await, 0);
    control.stop().await;
}

#[tokio::test]
async fn malformed_execution_requests_are_invalid_arguments() {
    let Some(control) = support::start().await else {
        return;
    };
    let config = ready_workflow(&control).await;

    // jsonb cannot hold a NUL character; the whole request is refused.
    let request = execution_request(&config, &["{}", r#"{"a":"\u0000"}"#]);
    let status = create_execution(&control, request).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.message(), "invalid trigger payload");

    let mut request = execution_request(&config, &["{}"]);
    request.request_id = "not-a-uuid".to_owned();
    let status = create_execution(&control, request).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);

    let status = create_execution(&control, execution_request(&config, &[]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);

    assert_eq!(control.count("SELECT count(*) FROM executions").await, 0);
    control.stop().await;
}

#[tokio::test]
async fn executions_are_listed_newest_first_within_the_limit() {
    let Some(control) = support::start().await else {
        return;
    };
    let config = ready_workflow(&control).await;
    let mut created = Vec::new();
    for n in 0..3 {
        let trigger = format!(r#"{{"n":{n}}}"#);
        let response = create_execution(&control, execution_request(&config, &[&trigger]))
            .await
            .unwrap();
        created.extend(response.wf_exec_ids);
    }
    let list = |limit| {
        let mut admin = control.admin.clone();
        let workflow_id = config.workflow_id.clone();
        async move {
            admin
                .list_executions(v1::ListExecutionsRequest { workflow_id, limit })
                .await
                .map(|response| response.into_inner().executions)
        }
    };
    let newest: Vec<String> = list(2)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.wf_exec_id)
        .collect();
    assert_eq!(newest, [created[2].clone(), created[1].clone()]);

    let status = list(10_001).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.message(), "Limit must be between 1 and 10000");

    let status = control
        .admin
        .clone()
        .get_execution(v1::GetExecutionRequest {
            wf_exec_id: "wf_nope/exec_nope".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    control.stop().await;
}
