//! The answers of an accepted request, and the query flags that shape them.

use serde_json::json;

use crate::harness::{Request, Setup, Stack};

async fn post_with_query(query: &str, body: &str) -> (Stack, String, crate::harness::Response) {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    let response = stack
        .send(Request::post(format!("{}?{query}", webhook.path)).json(body))
        .await;
    (stack, webhook.workflow_id, response)
}

#[tokio::test]
async fn accepted_request_names_the_workflow_and_execution() {
    let (stack, workflow, response) = post_with_query("", "{}").await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    let answer = response.json();
    let wf_id = answer["wf_id"].as_str().unwrap();
    assert_eq!(wf_id, workflow);
    assert_eq!(wf_id.len(), 3 + 22);
    assert!(wf_id[3..].bytes().all(|b| b.is_ascii_alphanumeric()));
    let exec = answer["wf_exec_id"].as_str().unwrap();
    assert!(exec.starts_with(&format!("{wf_id}/exec_")), "{exec}");
    assert_eq!(exec.len(), wf_id.len() + "/exec_".len() + 22);
    assert_eq!(
        stack.executions(&workflow).await[0].wf_exec_id,
        exec,
        "the answered id is the stored one"
    );
    stack.stop().await;
}

#[tokio::test]
async fn echo_adds_the_parsed_payload() {
    let (stack, _, response) = post_with_query("echo=true", r#"{"x":[1,{"y":null}]}"#).await;
    assert_eq!(response.status, 200);
    let answer = response.json();
    assert_eq!(answer["message"], "Workflow execution created");
    assert_eq!(answer["payload"], json!({"x": [1, {"y": null}]}));
    assert_eq!(stack.stored_executions().await, 1);
    stack.stop().await;
}

#[tokio::test]
async fn echo_of_ndjson_is_the_array_of_lines() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    let response = stack
        .send(
            Request::post(format!("{}?echo=1", webhook.path))
                .header("content-type", "application/x-ndjson")
                .body("{\"n\":1}\n[2]\n"),
        )
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json()["payload"], json!([{"n": 1}, [2]]));
    stack.stop().await;
}

#[tokio::test]
async fn echo_with_empty_echo_answers_an_empty_body() {
    let (stack, workflow, response) =
        post_with_query("echo=true&empty_echo=true", r#"{"a":1}"#).await;
    assert_eq!(response.status, 200);
    assert!(response.body.is_empty(), "{:?}", response.body);
    assert_eq!(stack.triggers(&workflow).await, vec![json!({"a": 1})]);
    stack.stop().await;
}

#[tokio::test]
async fn empty_echo_alone_has_no_effect() {
    let (stack, _, response) = post_with_query("empty_echo=true", r#"{"a":1}"#).await;
    assert_eq!(response.status, 200);
    let answer = response.json();
    assert_eq!(answer["message"], "Workflow execution created");
    assert!(answer.get("payload").is_none());
    assert_eq!(stack.stored_executions().await, 1);
    stack.stop().await;
}

#[tokio::test]
async fn booleans_accept_every_documented_spelling() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    for (value, echoes) in [
        ("true", true),
        ("TRUE", true),
        ("1", true),
        ("yes", true),
        ("On", true),
        ("false", false),
        ("0", false),
        ("no", false),
        ("OFF", false),
    ] {
        let response = stack
            .send(Request::post(format!("{}?echo={value}", webhook.path)).json("{}"))
            .await;
        assert_eq!(response.status, 200, "echo={value}");
        assert_eq!(
            response.json().get("payload").is_some(),
            echoes,
            "echo={value}"
        );
    }
    stack.stop().await;
}

#[tokio::test]
async fn bad_boolean_names_the_parameter_and_stores_nothing() {
    let (stack, _, response) = post_with_query("echo=perhaps", "{}").await;
    assert_eq!(response.status, 400);
    assert_eq!(response.detail(), "Invalid value for echo: perhaps");
    assert_eq!(stack.stored_executions().await, 0);
    stack.stop().await;
}

#[tokio::test]
async fn repeated_parameter_takes_its_last_value_and_unknown_ones_are_ignored() {
    let (stack, _, response) =
        post_with_query("echo=perhaps&echo=true&utm_source=slack", r#"{"k":2}"#).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json()["payload"], json!({"k": 2}));
    stack.stop().await;
}
