//! The audit log: every admin change, who made it and what it changed, without secrets.

use serde_json::{Value, json};
use sluice_proto::v1;

use crate::harness::{Setup, Stack};

async fn events(stack: &Stack, workflow_id: &str) -> Vec<v1::AuditEvent> {
    stack
        .admin
        .clone()
        .list_audit_events(v1::ListAuditEventsRequest {
            workflow_id: workflow_id.to_owned(),
            limit: 0,
        })
        .await
        .expect("list audit events")
        .into_inner()
        .events
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("audit JSON")
}

#[tokio::test]
async fn every_admin_change_is_recorded_with_its_credential() {
    let stack = Stack::start().await;
    let webhook = stack
        .webhook(Setup {
            api_key: vec!["generate", "revoke"],
            ..Setup::default()
        })
        .await;
    let other = stack.webhook(Setup::default()).await;

    let events = events(&stack, &webhook.workflow_id).await;
    let actions: Vec<&str> = events.iter().map(|event| event.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "RevokeApiKey",
            "GenerateApiKey",
            "UpdateWebhook",
            "PublishWorkflow",
            "CreateWorkflow"
        ]
    );
    for event in &events {
        assert_eq!(event.actor, "admin");
        assert_eq!(event.actor_role, "admin");
        assert_eq!(event.workflow_id, webhook.workflow_id);
        assert!(event.occurred_at.is_some());
    }

    let update = &events[2];
    assert_eq!(parse(&update.before_json)["status"], json!("offline"));
    assert_eq!(parse(&update.after_json)["status"], json!("online"));
    assert_eq!(parse(&update.after_json)["methods"], json!(["POST"]));
    let revoke = &events[0];
    assert_eq!(
        parse(&revoke.before_json)["api_key"]["revoked_at"],
        Value::Null
    );
    assert!(parse(&revoke.after_json)["api_key"]["revoked_at"].is_string());

    // Neither the URL secret nor the key (nor its hash) is in any record.
    let key = webhook.api_key.clone().expect("a key");
    for event in &events {
        for text in [&event.before_json, &event.after_json] {
            assert!(!text.contains(&webhook.secret), "{text}");
            assert!(!text.contains(&key), "{text}");
            assert!(!text.contains("hash"), "{text}");
        }
    }

    // Without a workflow, every workflow's events are listed, newest first.
    let all = self::events(&stack, "").await;
    assert_eq!(all.len(), events.len() + 3);
    assert_eq!(all[0].workflow_id, other.workflow_id);
    stack.stop().await;
}

#[tokio::test]
async fn a_refused_change_leaves_no_record() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    let before = events(&stack, &webhook.workflow_id).await.len();
    let refused = stack
        .admin
        .clone()
        .update_webhook(v1::UpdateWebhookRequest {
            workflow_id: webhook.workflow_id.clone(),
            status: Some("sideways".to_owned()),
            ..Default::default()
        })
        .await;
    assert!(refused.is_err());
    assert_eq!(events(&stack, &webhook.workflow_id).await.len(), before);
    stack.stop().await;
}
