//! Rotation of URL secrets and API keys: the new one works at once, the previous one
//! until its grace period ends, and a webhook that was never rotated keeps the URL
//! secret of the compatible derivation.

use std::time::{Duration, Instant};

use sluice_proto::{secrets::derive_url_secret, v1};
use uuid::Uuid;

use crate::harness::{Request, Setup, Stack, stack::SIGNING_SECRET};

async fn rotate_secret(stack: &Stack, workflow_id: &str, grace_seconds: u32) -> v1::Webhook {
    stack
        .admin
        .clone()
        .rotate_webhook_secret(v1::RotateWebhookSecretRequest {
            workflow_id: workflow_id.to_owned(),
            grace_seconds,
        })
        .await
        .expect("rotate the URL secret")
        .into_inner()
}

async fn rotate_key(stack: &Stack, workflow_id: &str, grace_seconds: u32) -> String {
    stack
        .admin
        .clone()
        .rotate_api_key(v1::RotateApiKeyRequest {
            workflow_id: workflow_id.to_owned(),
            grace_seconds,
        })
        .await
        .expect("rotate the API key")
        .into_inner()
        .api_key
}

fn path_of(url: &str) -> String {
    format!(
        "/{}",
        url.splitn(4, '/').nth(3).expect("the URL has a path")
    )
}

async fn status(stack: &Stack, path: &str, key: Option<&str>) -> u16 {
    let mut request = Request::post(path).json("{}");
    if let Some(key) = key {
        request = request.header("x-tracecat-api-key", key);
    }
    stack.send(request).await.status.as_u16()
}

/// Sends until the answer is `expected`, for changes the ingress hears about through
/// the watch stream; fails after five seconds.
async fn eventually(stack: &Stack, path: &str, key: Option<&str>, expected: u16) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let got = status(stack, path, key).await;
        if got == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{path}: still {got}, not {expected}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_never_rotated_webhook_keeps_the_compatible_url_secret() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    let config = stack
        .ingress_control
        .clone()
        .get_webhook_config(v1::GetWebhookConfigRequest {
            workflow_id: webhook.workflow_id.clone(),
        })
        .await
        .expect("read the configuration")
        .into_inner();
    let webhook_id = Uuid::parse_str(&config.webhook_id).expect("a UUID");
    assert_eq!(
        webhook.secret,
        derive_url_secret(webhook_id, SIGNING_SECRET)
    );
    stack.stop().await;
}

#[tokio::test]
async fn the_previous_url_works_until_the_grace_period_ends() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    assert_eq!(status(&stack, &webhook.path, None).await, 200);

    let rotated = rotate_secret(&stack, &webhook.workflow_id, 2).await;
    let new_path = path_of(&rotated.url);
    assert_ne!(new_path, webhook.path);
    assert!(rotated.previous_url_expires_at.is_some());
    eventually(&stack, &new_path, None, 200).await;
    assert_eq!(status(&stack, &webhook.path, None).await, 200);

    // Past the grace period the previous URL is refused like any wrong one, although
    // nothing told the ingress: the expiry travels with the configuration.
    tokio::time::sleep(Duration::from_millis(2_300)).await;
    assert_eq!(status(&stack, &webhook.path, None).await, 401);
    assert_eq!(status(&stack, &new_path, None).await, 200);
    stack.stop().await;
}

#[tokio::test]
async fn a_rotation_without_grace_retires_the_previous_url_at_once() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    assert_eq!(status(&stack, &webhook.path, None).await, 200);
    let rotated = rotate_secret(&stack, &webhook.workflow_id, 0).await;
    assert!(rotated.previous_url_expires_at.is_none());
    eventually(&stack, &webhook.path, None, 401).await;
    assert_eq!(status(&stack, &path_of(&rotated.url), None).await, 200);

    // The URL an admin reads is the new one, and a second rotation moves on again.
    let again = rotate_secret(&stack, &webhook.workflow_id, 0).await;
    assert_ne!(again.url, rotated.url);
    stack.stop().await;
}

#[tokio::test]
async fn the_previous_api_key_works_until_the_grace_period_ends() {
    let stack = Stack::start().await;
    let webhook = stack
        .webhook(Setup {
            api_key: vec!["generate"],
            ..Setup::default()
        })
        .await;
    let old = webhook.api_key.clone().expect("a key");
    assert_eq!(status(&stack, &webhook.path, Some(&old)).await, 200);

    let new = rotate_key(&stack, &webhook.workflow_id, 2).await;
    assert_ne!(new, old);
    eventually(&stack, &webhook.path, Some(&new), 200).await;
    assert_eq!(status(&stack, &webhook.path, Some(&old)).await, 200);

    tokio::time::sleep(Duration::from_millis(2_300)).await;
    assert_eq!(status(&stack, &webhook.path, Some(&old)).await, 401);
    assert_eq!(status(&stack, &webhook.path, Some(&new)).await, 200);
    stack.stop().await;
}

#[tokio::test]
async fn generate_still_replaces_the_key_at_once() {
    let stack = Stack::start().await;
    let webhook = stack
        .webhook(Setup {
            api_key: vec!["generate"],
            ..Setup::default()
        })
        .await;
    let old = webhook.api_key.clone().expect("a key");
    let rotated = rotate_key(&stack, &webhook.workflow_id, 3_600).await;
    eventually(&stack, &webhook.path, Some(&rotated), 200).await;
    assert_eq!(status(&stack, &webhook.path, Some(&old)).await, 200);

    // Generating drops both the current key and the one in grace.
    let generated = stack
        .admin
        .clone()
        .generate_api_key(v1::GenerateApiKeyRequest {
            workflow_id: webhook.workflow_id.clone(),
        })
        .await
        .expect("generate a key")
        .into_inner()
        .api_key;
    eventually(&stack, &webhook.path, Some(&old), 401).await;
    assert_eq!(status(&stack, &webhook.path, Some(&rotated)).await, 401);
    assert_eq!(status(&stack, &webhook.path, Some(&generated)).await, 200);
    stack.stop().await;
}

#[tokio::test]
async fn a_webhook_without_an_active_key_cannot_rotate_one() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    let refused = stack
        .admin
        .clone()
        .rotate_api_key(v1::RotateApiKeyRequest {
            workflow_id: webhook.workflow_id.clone(),
            grace_seconds: 60,
        })
        .await
        .expect_err("nothing to rotate");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    stack.stop().await;
}
