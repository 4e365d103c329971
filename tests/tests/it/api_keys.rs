//! API key protection, checked after the allowlist and before the body is read.

use serde_json::json;
use sluice_proto::v1;

use crate::harness::{Request, Setup, Stack};

fn protected(steps: Vec<&'static str>) -> Setup {
    Setup {
        api_key: steps,
        ..Setup::default()
    }
}

#[tokio::test]
async fn missing_key_is_unauthorized() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(protected(vec!["generate"])).await;
    let response = stack.send(Request::post(&webhook.path).json("{}")).await;
    assert_eq!(response.status, 401);
    assert_eq!(response.detail(), "Unauthorized webhook request");
    assert_eq!(stack.stored_executions().await, 0);
    stack.stop().await;
}

#[tokio::test]
async fn correct_key_is_accepted_and_its_use_recorded() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(protected(vec!["generate"])).await;
    let key = webhook.api_key.clone().unwrap();
    assert!(key.starts_with("tc_sk_"));
    let response = stack
        .send(
            Request::post(&webhook.path)
                .header("x-tracecat-api-key", &key)
                .json(r#"{"ok":true}"#),
        )
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(
        stack.triggers(&webhook.workflow_id).await,
        vec![json!({"ok": true})]
    );

    // The use time is written in the background, shortly after the request.
    let mut admin = stack.admin.clone();
    let mut recorded = false;
    for _ in 0..50 {
        let hook = admin
            .get_webhook(v1::GetWebhookRequest {
                workflow_id: webhook.workflow_id.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        let info = hook.api_key.expect("the webhook has a key");
        assert_eq!(info.preview, format!("tc_sk_...{}", &key[key.len() - 4..]));
        assert!(info.is_active);
        if info.last_used_at.is_some() {
            recorded = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(recorded, "last_used_at was never recorded");
    stack.stop().await;
}

#[tokio::test]
async fn wrong_key_is_unauthorized() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(protected(vec!["generate"])).await;
    let response = stack
        .send(
            Request::post(&webhook.path)
                .header("x-tracecat-api-key", &format!("tc_sk_{}", "x".repeat(42)))
                .json("{}"),
        )
        .await;
    assert_eq!(response.status, 401);
    assert_eq!(stack.stored_executions().await, 0);
    stack.stop().await;
}

#[tokio::test]
async fn revoked_key_blocks_even_the_old_key() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(protected(vec!["generate", "revoke"])).await;
    for key in [webhook.api_key.clone(), None] {
        let mut request = Request::post(&webhook.path).json("{}");
        if let Some(key) = key {
            request = request.header("x-tracecat-api-key", &key);
        }
        let response = stack.send(request).await;
        assert_eq!(response.status, 401);
    }
    assert_eq!(stack.stored_executions().await, 0);
    stack.stop().await;
}

#[tokio::test]
async fn generating_again_replaces_the_key_and_clears_the_revocation() {
    let stack = Stack::start().await;
    let first = stack.webhook(protected(vec!["generate", "revoke"])).await;
    let second = stack
        .admin
        .clone()
        .generate_api_key(v1::GenerateApiKeyRequest {
            workflow_id: first.workflow_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let old = first.api_key.unwrap();
    assert_ne!(old, second.api_key);

    let response = stack
        .send(
            Request::post(&first.path)
                .header("x-tracecat-api-key", &old)
                .json("{}"),
        )
        .await;
    assert_eq!(response.status, 401, "the replaced key no longer works");
    let response = stack
        .send(
            Request::post(&first.path)
                .header("x-tracecat-api-key", &second.api_key)
                .json("{}"),
        )
        .await;
    assert_eq!(response.status, 200);
    stack.stop().await;
}

#[tokio::test]
async fn deleted_key_turns_protection_off() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(protected(vec!["generate", "delete"])).await;
    let response = stack.send(Request::post(&webhook.path).json("{}")).await;
    assert_eq!(response.status, 200);
    assert_eq!(stack.stored_executions().await, 1);
    stack.stop().await;
}

#[tokio::test]
async fn key_header_is_ignored_when_no_key_is_configured() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    let response = stack
        .send(
            Request::post(&webhook.path)
                .header("x-tracecat-api-key", "anything")
                .json("{}"),
        )
        .await;
    assert_eq!(response.status, 200);
    stack.stop().await;
}

#[tokio::test]
async fn revoke_and_delete_are_idempotent() {
    let stack = Stack::start().await;
    let webhook = stack
        .webhook(protected(vec![
            "revoke", "delete", "generate", "revoke", "revoke", "delete", "delete",
        ]))
        .await;
    let response = stack.send(Request::post(&webhook.path).json("{}")).await;
    assert_eq!(response.status, 200);
    stack.stop().await;
}
