//! Whole request cycles with every log line and span of every crate captured at the
//! most verbose level: no URL secret, API key, token or signing secret appears in them.
//!
//! A test binary of its own, so that the capture is the process's only subscriber from
//! the first event on and no other test's logs mix in.

// The harness serves many test modules; this binary uses only part of it.
#[allow(dead_code, unused_imports)]
#[path = "it/harness/mod.rs"]
mod harness;

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use sluice_proto::v1;
use tracing_subscriber::{EnvFilter, fmt::format::FmtSpan};

use harness::{
    Request, Setup, Stack,
    credentials::{ADMIN_TOKEN, INGRESS_TOKEN},
    stack::SIGNING_SECRET,
};

/// Everything the process logged since the capture was installed.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

/// Installs the process's subscriber: trace level for every crate, with span fields on
/// creation and close.
fn capture() -> Capture {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new("trace"))
        .with_span_events(FmtSpan::FULL)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    capture
}

#[tokio::test]
async fn no_secret_appears_in_the_most_verbose_logs() {
    let capture = capture();
    let stack = Stack::start().await;
    let webhook = stack
        .webhook(Setup {
            api_key: vec!["generate"],
            ..Setup::default()
        })
        .await;
    let key = webhook.api_key.clone().expect("a key");

    let accepted = stack
        .send(
            Request::post(format!("{}?echo=true", webhook.path))
                .header("x-tracecat-api-key", &key)
                .json(r#"{"ok":true}"#),
        )
        .await;
    assert_eq!(accepted.status, 200);
    let wrong_key = stack
        .send(
            Request::post(&webhook.path)
                .header("x-tracecat-api-key", "tc_sk_wrong")
                .json("{}"),
        )
        .await;
    assert_eq!(wrong_key.status, 401);
    let wrong_secret = webhook.path_with_wrong_secret();
    assert_eq!(
        stack
            .send(Request::post(&wrong_secret).json("{}"))
            .await
            .status,
        401
    );

    let mut admin = stack.admin.clone();
    let rotated_key = admin
        .rotate_api_key(v1::RotateApiKeyRequest {
            workflow_id: webhook.workflow_id.clone(),
            grace_seconds: 60,
        })
        .await
        .expect("rotate the key")
        .into_inner()
        .api_key;
    let rotated = admin
        .rotate_webhook_secret(v1::RotateWebhookSecretRequest {
            workflow_id: webhook.workflow_id.clone(),
            grace_seconds: 60,
        })
        .await
        .expect("rotate the secret")
        .into_inner();
    let new_secret = rotated.url.rsplit('/').next().expect("a secret").to_owned();
    let new_path = format!("/{}", rotated.url.splitn(4, '/').nth(3).expect("a path"));
    let mut delivered = false;
    for _ in 0..50 {
        let response = stack
            .send(
                Request::post(&new_path)
                    .header("x-tracecat-api-key", &rotated_key)
                    .json("{}"),
            )
            .await;
        if response.status == 200 {
            delivered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(delivered, "the rotated URL and key were never accepted");
    stack.stop().await;

    let logs = capture.text();
    // The capture saw this test's requests, with their paths masked.
    assert!(
        logs.contains(&format!("{}/<redacted>", webhook.workflow_id)),
        "the requests were not logged at all"
    );
    for (what, secret) in [
        ("URL secret", webhook.secret.as_str()),
        ("rotated URL secret", new_secret.as_str()),
        ("API key", key.as_str()),
        ("rotated API key", rotated_key.as_str()),
        ("admin token", ADMIN_TOKEN),
        ("ingress token", INGRESS_TOKEN),
        ("signing secret", SIGNING_SECRET),
    ] {
        assert!(!logs.contains(secret), "the {what} appears in the logs");
    }
}
