//! Creating, reading and publishing workflows.

use sluice_proto::v1;
use tonic::Code;
use uuid::Uuid;

use crate::{
    calls::{config, create_workflow, publish},
    support,
};

#[tokio::test]
async fn new_workflow_has_an_offline_post_webhook() {
    let Some(control) = support::start().await else {
        return;
    };
    let workflow = create_workflow(&control, "  Orders ").await;
    assert!(
        workflow.id.starts_with("wf_") && workflow.id.len() == 25,
        "{}",
        workflow.id
    );
    assert_eq!(workflow.title, "Orders");
    assert_eq!(workflow.published_version, None);

    let webhook = control
        .admin
        .clone()
        .get_webhook(v1::GetWebhookRequest {
            workflow_id: workflow.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(webhook.workflow_id, workflow.id);
    assert_eq!(webhook.status, "offline");
    assert_eq!(webhook.methods, ["POST"]);
    assert!(webhook.allowlisted_cidrs.is_empty());
    assert!(!webhook.include_headers);
    assert_eq!(webhook.api_key, None);

    // The URL carries the derived secret, and the ingress gets only its digest.
    let config = config(&control, &workflow.id).await;
    let secret = sluice_proto::secrets::derive_url_secret(
        Uuid::parse_str(&config.webhook_id).unwrap(),
        support::SIGNING_SECRET,
    );
    assert_eq!(
        webhook.url,
        format!(
            "https://hooks.example.com/api/webhooks/{}/{secret}",
            workflow.id
        )
    );
    assert_eq!(config.status(), v1::WebhookStatus::Offline);
    assert_eq!(config.methods, ["POST"]);
    assert_eq!(config.published_version, None);
    assert_eq!(
        config.secret_sha256,
        [sluice_proto::secrets::url_secret_digest(&secret).to_vec()]
    );
    assert_eq!(config.api_key, None);
    let uuid = sluice_proto::ids::WorkflowId::parse(&workflow.id)
        .unwrap()
        .uuid();
    assert_eq!(config.workflow_id, uuid.to_string());

    // Every spelling of the id names the same workflow.
    let by_uuid = control
        .admin
        .clone()
        .get_workflow(v1::GetWorkflowRequest {
            workflow_id: uuid.simple().to_string(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_uuid.id, workflow.id);
    control.stop().await;
}

#[tokio::test]
async fn empty_title_and_unknown_workflows_are_refused() {
    let Some(control) = support::start().await else {
        return;
    };
    let status = control
        .admin
        .clone()
        .create_workflow(v1::CreateWorkflowRequest {
            title: "   ".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.message(), "Title must not be empty");
    assert_eq!(control.count("SELECT count(*) FROM workflows").await, 0);

    for id in ["wf_nope", &format!("wf-{}", Uuid::new_v4().simple())] {
        let status = control
            .admin
            .clone()
            .get_webhook(v1::GetWebhookRequest {
                workflow_id: id.to_owned(),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::NotFound, "{id}");
        assert_eq!(status.message(), format!("Workflow not found: {id}"));
    }
    let status = control
        .ingress
        .clone()
        .get_webhook_config(v1::GetWebhookConfigRequest {
            workflow_id: Uuid::new_v4().to_string(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    control.stop().await;
}

#[tokio::test]
async fn publishing_twice_gives_version_two() {
    let Some(control) = support::start().await else {
        return;
    };
    let workflow = create_workflow(&control, "Versions").await;
    assert_eq!(publish(&control, &workflow.id, "").await.unwrap(), 1);
    assert_eq!(
        publish(&control, &workflow.id, r#"{"steps": [1]}"#)
            .await
            .unwrap(),
        2
    );

    let status = publish(&control, &workflow.id, "{not json")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status
            .message()
            .starts_with("Workflow definition is not valid JSON")
    );

    let got = control
        .admin
        .clone()
        .get_workflow(v1::GetWorkflowRequest {
            workflow_id: workflow.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.published_version, Some(2));
    assert_eq!(
        config(&control, &workflow.id).await.published_version,
        Some(2)
    );

    let stored = control
        .db
        .query(
            "SELECT version, definition::text FROM workflow_definitions ORDER BY version",
            &[],
        )
        .await
        .unwrap();
    let stored: Vec<(i32, String)> = stored.iter().map(|row| (row.get(0), row.get(1))).collect();
    assert_eq!(
        stored,
        [(1, "{}".to_owned()), (2, r#"{"steps": [1]}"#.to_owned())]
    );
    control.stop().await;
}

#[tokio::test]
async fn concurrent_publishes_get_distinct_versions() {
    let Some(control) = support::start().await else {
        return;
    };
    let workflow = create_workflow(&control, "Busy").await;
    let publishes = (0..8).map(|_| publish(&control, &workflow.id, "{}"));
    let mut versions: Vec<i32> = futures_util::future::join_all(publishes)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    versions.sort_unstable();
    assert_eq!(versions, (1..=8).collect::<Vec<_>>());
    control.stop().await;
}
