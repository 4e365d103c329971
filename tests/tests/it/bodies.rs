//! How each media type becomes TRIGGER, and how bad bodies are refused.

use serde_json::{Value, json};

use crate::harness::{Request, Setup, Stack};

/// Posts `body` with `content_type` to a default webhook; returns the stack, the
/// workflow id and the answer.
async fn post(content_type: Option<&str>, body: &str) -> (Stack, String, crate::harness::Response) {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    let mut request = Request::post(&webhook.path).body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let response = stack.send(request).await;
    (stack, webhook.workflow_id, response)
}

async fn assert_stored(content_type: Option<&str>, body: &str, expected: Vec<Value>) {
    let (stack, workflow, response) = post(content_type, body).await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    let mut expected = expected;
    expected.sort_by_key(|trigger| trigger.to_string());
    assert_eq!(stack.triggers(&workflow).await, expected);
    stack.stop().await;
}

async fn assert_refused(content_type: Option<&str>, body: &str, status: u16, detail: &str) {
    let (stack, _, response) = post(content_type, body).await;
    assert_eq!(response.status, status);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.detail(), detail);
    assert_eq!(stack.stored_executions().await, 0);
    stack.stop().await;
}

#[tokio::test]
async fn json_object_becomes_the_trigger() {
    let (stack, workflow, response) = post(
        Some("application/json"),
        r#"{"alert_id":"A-1","severity":3}"#,
    )
    .await;
    assert_eq!(response.status, 200);
    let answer = response.json();
    assert_eq!(answer["message"], "Workflow execution created");
    assert_eq!(answer["wf_id"], workflow.as_str());
    assert!(answer.get("payload").is_none());
    assert_eq!(
        stack.triggers(&workflow).await,
        vec![json!({"alert_id": "A-1", "severity": 3})]
    );
    stack.stop().await;
}

#[tokio::test]
async fn json_charset_parameter_is_ignored() {
    assert_stored(
        Some("application/json; charset=utf-8"),
        r#"{"a":1}"#,
        vec![json!({"a": 1})],
    )
    .await;
}

#[tokio::test]
async fn body_without_content_type_is_parsed_as_json() {
    assert_stored(None, "[1,2,3]", vec![json!([1, 2, 3])]).await;
}

#[tokio::test]
async fn text_plain_body_is_parsed_as_json() {
    assert_stored(
        Some("text/plain"),
        r#""just a string""#,
        vec![json!("just a string")],
    )
    .await;
}

#[tokio::test]
async fn empty_body_is_a_null_trigger() {
    assert_stored(Some("application/json"), "", vec![Value::Null]).await;
}

#[tokio::test]
async fn invalid_json_stores_nothing() {
    assert_refused(
        Some("application/json"),
        r#"{"a":"#,
        400,
        "Invalid json payload",
    )
    .await;
}

#[tokio::test]
async fn json_with_a_nul_escape_is_refused_not_a_server_fault() {
    // PostgreSQL's jsonb cannot hold U+0000, so the request is refused as bad input.
    assert_refused(
        Some("application/json"),
        r#"{"a":"x\u0000y"}"#,
        400,
        "Invalid json payload",
    )
    .await;
}

#[tokio::test]
async fn form_fields_become_an_object_of_strings() {
    assert_stored(
        Some("application/x-www-form-urlencoded"),
        "key=value&number=42",
        vec![json!({"key": "value", "number": "42"})],
    )
    .await;
}

#[tokio::test]
async fn form_repeated_name_keeps_every_value_in_order() {
    assert_stored(
        Some("application/x-www-form-urlencoded"),
        "a=1&b=x&a=2",
        vec![json!({"a": ["1", "2"], "b": "x"})],
    )
    .await;
}

#[tokio::test]
async fn form_plus_and_percent_escapes_are_decoded_as_utf8() {
    assert_stored(
        Some("application/x-www-form-urlencoded; charset=utf-8"),
        "msg=hello+world%21&e=%C3%A7a",
        vec![json!({"msg": "hello world!", "e": "\u{e7}a"})],
    )
    .await;
}

#[tokio::test]
async fn form_with_bytes_that_are_not_utf8_stores_nothing() {
    assert_refused(
        Some("application/x-www-form-urlencoded"),
        "a=%FF%FE",
        400,
        "Invalid form data payload",
    )
    .await;
}

#[tokio::test]
async fn ndjson_creates_one_execution_per_line_in_order() {
    let (stack, workflow, response) = post(
        Some("application/x-ndjson"),
        "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n",
    )
    .await;
    assert_eq!(response.status, 200);
    let answer = response.json();
    let ids: Vec<String> = answer["wf_exec_ids"]
        .as_array()
        .expect("wf_exec_ids is an array")
        .iter()
        .map(|id| id.as_str().expect("ids are strings").to_owned())
        .collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(answer["wf_exec_id"], ids[2].as_str());

    // Each id names the execution of its own line.
    let mut admin = stack.admin.clone();
    for (n, id) in ids.iter().enumerate() {
        let execution = admin
            .get_execution(sluice_proto::v1::GetExecutionRequest {
                wf_exec_id: id.clone(),
            })
            .await
            .expect("get the execution")
            .into_inner();
        let trigger: Value = serde_json::from_str(&execution.trigger_json).unwrap();
        assert_eq!(trigger, json!({"n": n + 1}));
    }
    assert_eq!(stack.triggers(&workflow).await.len(), 3);
    stack.stop().await;
}

#[tokio::test]
async fn jsonl_with_charset_and_no_final_newline() {
    assert_stored(
        Some("application/jsonl; charset=utf-8"),
        "{\"n\":1}\n{\"n\":2}",
        vec![json!({"n": 1}), json!({"n": 2})],
    )
    .await;
}

#[tokio::test]
async fn jsonlines_lines_may_be_any_json_value() {
    assert_stored(
        Some("application/jsonlines"),
        "1\n\"two\"\n[3]\n",
        vec![json!(1), json!("two"), json!([3])],
    )
    .await;
}

#[tokio::test]
async fn ndjson_blank_lines_and_crlf_are_skipped() {
    assert_stored(
        Some("application/x-ndjson"),
        "{\"n\":1}\r\n\r\n  \n{\"n\":2}\n\n",
        vec![json!({"n": 1}), json!({"n": 2})],
    )
    .await;
}

#[tokio::test]
async fn ndjson_media_type_is_compared_in_any_case() {
    assert_stored(
        Some("Application/X-NDJSON"),
        "{\"n\":1}\n{\"n\":2}\n",
        vec![json!({"n": 1}), json!({"n": 2})],
    )
    .await;
}

#[tokio::test]
async fn ndjson_bad_line_stores_nothing_and_names_the_line() {
    assert_refused(
        Some("application/x-ndjson"),
        "{\"n\":1}\n\n{oops\n{\"n\":3}\n",
        400,
        "Invalid ndjson payload (line 3)",
    )
    .await;
}

#[tokio::test]
async fn ndjson_without_any_line_is_refused() {
    assert_refused(
        Some("application/x-ndjson"),
        "\n  \n",
        400,
        "Invalid ndjson payload (no lines)",
    )
    .await;
}
