//! Routes, methods, and the first checks of the order: secret, status, method,
//! published definition.

use http::Method;
use serde_json::{Value, json};
use sluice_proto::ids::WorkflowId;

use crate::harness::{Options, Request, Setup, Stack};

const UNAUTHORIZED: &str = "Unauthorized webhook request";

async fn assert_unauthorized(stack: &Stack, request: Request) {
    let response = stack.send(request).await;
    assert_eq!(response.status, 401);
    assert_eq!(response.detail(), UNAUTHORIZED);
}

#[tokio::test]
async fn wrong_secret_is_unauthorized_and_stores_nothing() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    assert_unauthorized(
        &stack,
        Request::post(webhook.path_with_wrong_secret()).json("{}"),
    )
    .await;
    assert_unauthorized(
        &stack,
        Request::post(format!("{}0", webhook.path)).json("{}"),
    )
    .await;
    assert_eq!(stack.stored_executions().await, 0);
    stack.stop().await;
}

#[tokio::test]
async fn unknown_or_malformed_workflow_is_unauthorized() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    let unknown = WorkflowId::new(uuid::Uuid::new_v4()).short();
    for id in [unknown.as_str(), "wf_nope", "not-an-id", "wf-1234"] {
        let request = Request::post(format!("/webhooks/{id}/{}", webhook.secret)).json("{}");
        assert_unauthorized(&stack, request).await;
    }
    stack.stop().await;
}

#[tokio::test]
async fn secret_is_checked_before_anything_else() {
    let stack = Stack::start().await;
    let webhook = stack
        .webhook(Setup {
            status: "offline",
            published: false,
            ..Setup::default()
        })
        .await;
    let wrong = webhook.path_with_wrong_secret();
    for method in [
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::OPTIONS,
        Method::HEAD,
    ] {
        let response = stack.send(Request::new(method.clone(), &wrong)).await;
        assert_eq!(response.status, 401, "{method}");
    }
    stack.stop().await;
}

#[tokio::test]
async fn offline_webhook_is_refused() {
    let stack = Stack::start().await;
    let webhook = stack
        .webhook(Setup {
            status: "offline",
            ..Setup::default()
        })
        .await;
    let response = stack.send(Request::post(&webhook.path).json("{}")).await;
    assert_eq!(response.status, 400);
    assert_eq!(response.detail(), "Webhook is offline");
    assert_eq!(stack.stored_executions().await, 0);
    stack.stop().await;
}

#[tokio::test]
async fn method_outside_the_allowed_list_is_405_with_allow() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    let response = stack.send(Request::new(Method::GET, &webhook.path)).await;
    assert_eq!(response.status, 405);
    assert_eq!(response.detail(), "Request method not allowed");
    assert_eq!(response.header("allow"), Some("POST, HEAD, OPTIONS"));
    assert_eq!(stack.stored_executions().await, 0);
    stack.stop().await;
}

#[tokio::test]
async fn other_methods_are_405_even_when_get_and_post_are_allowed() {
    let stack = Stack::start().await;
    let webhook = stack
        .webhook(Setup {
            methods: vec!["GET", "POST"],
            ..Setup::default()
        })
        .await;
    for method in [Method::PUT, Method::PATCH, Method::DELETE] {
        let response = stack
            .send(Request::new(method.clone(), &webhook.path).json("{}"))
            .await;
        assert_eq!(response.status, 405, "{method}");
        assert_eq!(response.detail(), "Request method not allowed");
        assert_eq!(response.header("allow"), Some("GET, POST, HEAD, OPTIONS"));
    }
    assert_eq!(stack.stored_executions().await, 0);
    stack.stop().await;
}

#[tokio::test]
async fn get_runs_the_workflow_when_allowed() {
    let stack = Stack::start().await;
    let webhook = stack
        .webhook(Setup {
            methods: vec!["GET"],
            ..Setup::default()
        })
        .await;
    let response = stack.send(Request::new(Method::GET, &webhook.path)).await;
    assert_eq!(response.status, 200);
    assert_eq!(
        stack.triggers(&webhook.workflow_id).await,
        vec![Value::Null]
    );
    stack.stop().await;
}

#[tokio::test]
async fn unpublished_workflow_is_404() {
    let stack = Stack::start().await;
    let webhook = stack
        .webhook(Setup {
            published: false,
            ..Setup::default()
        })
        .await;
    let response = stack.send(Request::post(&webhook.path).json("{}")).await;
    assert_eq!(response.status, 404);
    assert_eq!(
        response.detail(),
        "No published workflow definition. Publish the workflow and try again."
    );
    assert_eq!(stack.stored_executions().await, 0);
    stack.stop().await;
}

#[tokio::test]
async fn head_answers_200_and_never_executes() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    let response = stack.send(Request::new(Method::HEAD, &webhook.path)).await;
    assert_eq!(response.status, 200);
    assert!(response.body.is_empty());
    assert_eq!(stack.stored_executions().await, 0);
    stack.stop().await;
}

#[tokio::test]
async fn head_on_an_offline_webhook_reports_it() {
    let stack = Stack::start().await;
    let webhook = stack
        .webhook(Setup {
            status: "offline",
            ..Setup::default()
        })
        .await;
    let response = stack.send(Request::new(Method::HEAD, &webhook.path)).await;
    assert_eq!(response.status, 400);
    stack.stop().await;
}

#[tokio::test]
async fn options_answers_204_with_allow_and_never_executes() {
    let stack = Stack::start().await;
    let webhook = stack
        .webhook(Setup {
            status: "offline",
            ..Setup::default()
        })
        .await;
    let response = stack
        .send(Request::new(Method::OPTIONS, &webhook.path))
        .await;
    assert_eq!(response.status, 204);
    assert_eq!(response.header("allow"), Some("POST, HEAD, OPTIONS"));
    assert_eq!(stack.stored_executions().await, 0);
    stack.stop().await;
}

#[tokio::test]
async fn trailing_slash_is_the_same_route() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    let response = stack
        .send(Request::post(format!("{}/?echo=true", webhook.path)).json(r#"{"s":1}"#))
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json()["payload"], json!({"s": 1}));
    stack.stop().await;
}

#[tokio::test]
async fn workflow_id_may_be_spelled_as_uuid_or_legacy_hex() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    let uuid = WorkflowId::parse(&webhook.workflow_id).unwrap().uuid();
    for spelling in [
        uuid.hyphenated().to_string(),
        uuid.simple().to_string(),
        format!("wf-{}", uuid.simple()),
    ] {
        let response = stack
            .send(
                Request::post(format!("/webhooks/{spelling}/{}", webhook.secret))
                    .json(r#"{"u":1}"#),
            )
            .await;
        assert_eq!(response.status, 200, "{spelling}");
        assert_eq!(response.json()["wf_id"], webhook.workflow_id.as_str());
    }
    assert_eq!(stack.triggers(&webhook.workflow_id).await.len(), 3);
    stack.stop().await;
}

#[tokio::test]
async fn path_prefix_is_accepted_in_front() {
    let mut options = Options::default();
    options.ingress.path_prefix = "/api".to_owned();
    let stack = Stack::start_with(options).await;
    let webhook = stack.webhook(Setup::default()).await;
    assert!(
        webhook.path.starts_with("/api/webhooks/"),
        "{}",
        webhook.path
    );
    let response = stack.send(Request::post(&webhook.path).json("{}")).await;
    assert_eq!(response.status, 200);
    stack.stop().await;
}

#[tokio::test]
async fn paths_outside_the_webhook_route_are_404() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    for target in [
        "/",
        "/webhooks",
        "/webhooks/x",
        &format!("{}/extra", webhook.path),
    ] {
        let response = stack.send(Request::post(target).json("{}")).await;
        assert_eq!(response.status, 404, "{target}");
    }
    assert_eq!(stack.stored_executions().await, 0);
    stack.stop().await;
}
