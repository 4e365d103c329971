//! The order of checks, as a sender observes it.

use sluice_proto::v1::{ApiKeyMaterial, WebhookConfig, WebhookStatus};

use crate::harness::{
    API_KEY, API_KEY_HASH, Harness, SHORT, Script, online_webhook, script, webhook_path,
};

#[tokio::test]
async fn an_unknown_webhook_or_wrong_secret_is_401_whatever_the_method() {
    let harness = Harness::start(Script::default()).await;
    let answer = harness.send("PUT", &webhook_path(), &[], "").await;
    assert_eq!(
        (answer.status, answer.json()),
        (
            401,
            serde_json::json!({"detail": "Unauthorized webhook request"})
        )
    );

    let harness = Harness::start(script(online_webhook())).await;
    let wrong = format!("/webhooks/{SHORT}/{}", "f".repeat(64));
    assert_eq!(harness.send("PUT", &wrong, &[], "").await.status, 401);
    assert_eq!(harness.send("OPTIONS", &wrong, &[], "").await.status, 401);
    assert!(harness.script().creates.is_empty());
}

#[tokio::test]
async fn other_methods_are_answered_right_after_the_secret_check() {
    let offline = WebhookConfig {
        status: WebhookStatus::Offline.into(),
        ..online_webhook()
    };
    let harness = Harness::start(script(offline)).await;

    let answer = harness.send("PUT", &webhook_path(), &[], "{}").await;
    assert_eq!(answer.status, 405);
    assert_eq!(answer.header("allow"), Some("POST, HEAD, OPTIONS"));

    let answer = harness.send("OPTIONS", &webhook_path(), &[], "").await;
    assert_eq!(answer.status, 204);
    assert_eq!(answer.header("allow"), Some("POST, HEAD, OPTIONS"));

    // Offline comes before the method check of GET and POST.
    assert_eq!(
        harness.send("GET", &webhook_path(), &[], "").await.status,
        400
    );
    assert_eq!(
        harness.post("{}").await.json()["detail"],
        "Webhook is offline"
    );
}

#[tokio::test]
async fn a_method_the_webhook_does_not_accept_is_405() {
    let harness = Harness::start(script(online_webhook())).await;
    let answer = harness.send("GET", &webhook_path(), &[], "").await;
    assert_eq!(answer.status, 405);
    assert_eq!(answer.json()["detail"], "Request method not allowed");
    assert_eq!(answer.header("allow"), Some("POST, HEAD, OPTIONS"));
}

#[tokio::test]
async fn head_checks_allowlist_and_key_but_never_creates() {
    let keyed = WebhookConfig {
        api_key: Some(ApiKeyMaterial {
            hash_hex: API_KEY_HASH.into(),
            salt_b64: "AAECAwQFBgcICQoLDA0ODw==".into(),
            active: true,
        }),
        ..online_webhook()
    };
    let harness = Harness::start(script(keyed)).await;

    assert_eq!(
        harness.send("HEAD", &webhook_path(), &[], "").await.status,
        401
    );
    let answer = harness
        .send(
            "HEAD",
            &webhook_path(),
            &[("x-tracecat-api-key", API_KEY)],
            "",
        )
        .await;
    assert_eq!((answer.status, answer.body.as_str()), (200, ""));
    assert!(harness.script().creates.is_empty());

    let answer = harness
        .send(
            "POST",
            &webhook_path(),
            &[("x-tracecat-api-key", API_KEY)],
            "{}",
        )
        .await;
    assert_eq!(answer.status, 200);
    assert!(harness.script().creates[0].api_key_used);
}

#[tokio::test]
async fn the_allowlist_uses_the_forwarded_client_of_a_trusted_proxy() {
    let allowlisted = WebhookConfig {
        allowlisted_cidrs: vec!["198.51.100.0/24".into()],
        ..online_webhook()
    };
    let harness = Harness::start(script(allowlisted)).await;

    let answer = harness.post("{}").await;
    assert_eq!(
        (answer.status, answer.json()["detail"].as_str()),
        (403, Some("Unauthorized webhook request"))
    );
    let forwarded = [("x-forwarded-for", "10.0.0.1, 198.51.100.7")];
    assert_eq!(
        harness
            .send("POST", &webhook_path(), &forwarded, "{}")
            .await
            .status,
        200
    );
    assert_eq!(harness.script().creates[0].client_ip, "198.51.100.7");
}

#[tokio::test]
async fn handshakes_and_rejections_create_nothing() {
    let unpublished = WebhookConfig {
        published_version: None,
        methods: vec!["GET".into(), "POST".into()],
        ..online_webhook()
    };
    let harness = Harness::start(script(unpublished)).await;

    let okta = format!("{}?vendor=okta", webhook_path());
    let answer = harness
        .send(
            "GET",
            &okta,
            &[("x-okta-verification-challenge", "abc")],
            "",
        )
        .await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (200, r#"{"verification":"abc"}"#)
    );

    let slack = r#"{"type":"url_verification","challenge":"c-1"}"#;
    let answer = harness.post(slack).await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (200, r#"{"challenge":"c-1"}"#)
    );

    // Nothing is published: the published check comes before the parse.
    assert_eq!(harness.post("{not json").await.status, 404);
    let bad_query = format!("{}?echo=perhaps", webhook_path());
    let answer = harness.send("POST", &bad_query, &[], "{}").await;
    assert_eq!(answer.json()["detail"], "Invalid value for echo: perhaps");
    assert!(harness.script().creates.is_empty());
}

#[tokio::test]
async fn include_headers_stores_the_envelope_without_the_api_key() {
    let with_headers = WebhookConfig {
        include_headers: true,
        ..online_webhook()
    };
    let harness = Harness::start(script(with_headers)).await;
    let path = format!("{}?echo=true", webhook_path());
    let answer = harness
        .send(
            "POST",
            &path,
            &[
                ("content-type", "application/x-ndjson"),
                ("x-tracecat-api-key", "ignored"),
                ("x-sender", "s"),
            ],
            "{\"n\":1}\n{\"n\":2}\n",
        )
        .await;

    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.json()["payload"],
        serde_json::json!([{"n": 1}, {"n": 2}])
    );
    assert_eq!(answer.json()["wf_exec_ids"].as_array().unwrap().len(), 2);
    let script = harness.script();
    let stored: Vec<serde_json::Value> = script.creates[0]
        .triggers
        .iter()
        .map(|text| serde_json::from_slice(text).unwrap())
        .collect();
    assert_eq!(stored[1]["data"], serde_json::json!({"n": 2}));
    assert_eq!(stored[1]["raw_body"], "{\"n\":2}");
    assert_eq!(stored[1]["headers"]["x-sender"], "s");
    assert_eq!(stored[1]["headers"]["content-type"], "application/x-ndjson");
    assert!(stored[1]["headers"].get("x-tracecat-api-key").is_none());
}
