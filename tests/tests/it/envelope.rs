//! With include_headers on, TRIGGER is an envelope of headers, data and raw body.

use serde_json::json;

use crate::harness::{Request, Setup, Stack};

fn with_headers() -> Setup {
    Setup {
        include_headers: true,
        api_key: vec!["generate"],
        ..Setup::default()
    }
}

#[tokio::test]
async fn envelope_carries_lower_cased_headers_without_the_api_key() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(with_headers()).await;
    let key = webhook.api_key.clone().unwrap();
    let body = r#"{"alert":"disk full"}"#;
    let response = stack
        .send(
            Request::post(format!("{}?echo=true", webhook.path))
                .header("X-Tracecat-Api-Key", &key)
                .header("X-Custom", "a")
                .header("x-custom", "b")
                .json(body),
        )
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.json()["payload"],
        json!({"alert": "disk full"}),
        "echo shows the parsed body, not the envelope"
    );

    let triggers = stack.triggers(&webhook.workflow_id).await;
    let envelope = &triggers[0];
    assert_eq!(envelope["data"], json!({"alert": "disk full"}));
    assert_eq!(envelope["raw_body"], body);
    let headers = envelope["headers"].as_object().unwrap();
    assert_eq!(headers["x-custom"], "a, b");
    assert_eq!(headers["content-type"], "application/json");
    assert!(!headers.contains_key("x-tracecat-api-key"));
    assert!(!envelope.to_string().contains(&key));
    stack.stop().await;
}

#[tokio::test]
async fn ndjson_envelope_has_each_lines_value_and_text() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(with_headers()).await;
    let response = stack
        .send(
            Request::post(&webhook.path)
                .header("x-tracecat-api-key", webhook.api_key.as_deref().unwrap())
                .header("content-type", "application/x-ndjson")
                .body("{\"n\": 1}\n{\"n\": 2}\n"),
        )
        .await;
    assert_eq!(response.status, 200);
    let triggers = stack.triggers(&webhook.workflow_id).await;
    assert_eq!(triggers.len(), 2);
    let mut lines: Vec<_> = triggers
        .iter()
        .map(|t| (t["data"].clone(), t["raw_body"].clone()))
        .collect();
    lines.sort_by_key(|(data, _)| data.to_string());
    assert_eq!(
        lines,
        vec![
            (json!({"n": 1}), json!("{\"n\": 1}")),
            (json!({"n": 2}), json!("{\"n\": 2}")),
        ]
    );
    stack.stop().await;
}

#[tokio::test]
async fn empty_body_envelope_has_null_data() {
    let stack = Stack::start().await;
    let webhook = stack
        .webhook(Setup {
            include_headers: true,
            ..Setup::default()
        })
        .await;
    let response = stack.send(Request::post(&webhook.path)).await;
    assert_eq!(response.status, 200);
    let triggers = stack.triggers(&webhook.workflow_id).await;
    assert_eq!(triggers[0]["data"], serde_json::Value::Null);
    assert_eq!(triggers[0]["raw_body"], "");
    stack.stop().await;
}
