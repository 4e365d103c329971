//! Sender handshakes are answered without creating an execution.

use http::Method;
use serde_json::json;

use crate::harness::{Request, Setup, Stack};

#[tokio::test]
async fn okta_verification_echoes_the_challenge() {
    let stack = Stack::start().await;
    let webhook = stack
        .webhook(Setup {
            methods: vec!["GET", "POST"],
            ..Setup::default()
        })
        .await;
    let response = stack
        .send(
            Request::new(Method::GET, format!("{}?vendor=okta", webhook.path))
                .header("X-Okta-Verification-Challenge", "Zq3-challenge-77"),
        )
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json(), json!({"verification": "Zq3-challenge-77"}));
    assert_eq!(stack.stored_executions().await, 0);
    stack.stop().await;
}

#[tokio::test]
async fn okta_verification_does_not_need_a_published_workflow() {
    let stack = Stack::start().await;
    let webhook = stack
        .webhook(Setup {
            published: false,
            ..Setup::default()
        })
        .await;
    let response = stack
        .send(
            Request::post(format!("{}?vendor=okta", webhook.path))
                .header("x-okta-verification-challenge", "abc"),
        )
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json(), json!({"verification": "abc"}));
    stack.stop().await;
}

#[tokio::test]
async fn okta_event_without_challenge_is_an_ordinary_execution() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    let response = stack
        .send(Request::post(format!("{}?vendor=okta", webhook.path)).json(r#"{"data":{}}"#))
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(
        stack.triggers(&webhook.workflow_id).await,
        vec![json!({"data": {}})]
    );
    stack.stop().await;
}

#[tokio::test]
async fn unknown_vendor_is_refused_before_anything_is_stored() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    for vendor in ["pagerduty", "OKTA", ""] {
        let response = stack
            .send(Request::post(format!("{}?vendor={vendor}", webhook.path)).json("{}"))
            .await;
        assert_eq!(response.status, 400, "vendor={vendor}");
        assert_eq!(
            response.detail(),
            format!("Unsupported vendor: {vendor}. Expected: `okta`.")
        );
    }
    assert_eq!(stack.stored_executions().await, 0);
    stack.stop().await;
}

#[tokio::test]
async fn slack_url_verification_answers_the_challenge() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    let challenge = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P";
    let body = format!(r#"{{"token":"t0k","challenge":"{challenge}","type":"url_verification"}}"#);
    // The flags of slash commands do not change the handshake's answer.
    let response = stack
        .send(Request::post(format!("{}?echo=true&empty_echo=true", webhook.path)).json(&body))
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json(), json!({"challenge": challenge}));
    assert_eq!(stack.stored_executions().await, 0);
    stack.stop().await;
}

#[tokio::test]
async fn slack_url_verification_does_not_need_a_published_workflow() {
    let stack = Stack::start().await;
    let webhook = stack
        .webhook(Setup {
            published: false,
            ..Setup::default()
        })
        .await;
    let response = stack
        .send(Request::post(&webhook.path).json(r#"{"type":"url_verification","challenge":"c"}"#))
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json(), json!({"challenge": "c"}));
    stack.stop().await;
}

#[tokio::test]
async fn slack_shape_under_a_form_type_is_an_ordinary_execution() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    let response = stack
        .send(
            Request::post(&webhook.path)
                .header("content-type", "application/x-www-form-urlencoded")
                .body("type=url_verification&challenge=c"),
        )
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(
        stack.triggers(&webhook.workflow_id).await,
        vec![json!({"type": "url_verification", "challenge": "c"})]
    );
    stack.stop().await;
}
