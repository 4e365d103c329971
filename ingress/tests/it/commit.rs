//! What the ingress sends to the control plane and how it reads the answers.

use std::time::{Duration, Instant};

use sluice_proto::v1::create_execution_response::Outcome;
use tokio::{
    io::AsyncWriteExt,
    net::{TcpListener, TcpStream},
    sync::oneshot,
};
use tonic::Code;

use crate::harness::{
    Harness, SHORT, Script, WORKFLOW, online_webhook, read_answer, script, webhook_path,
};

#[tokio::test]
async fn a_created_execution_carries_the_trigger_and_request_facts() {
    let harness = Harness::start(script(online_webhook())).await;
    let body = r#"{ "alert_id": "A-1" }"#;
    let answer = harness
        .send(
            "POST",
            &webhook_path(),
            &[
                ("content-type", "Application/JSON; charset=utf-8"),
                ("x-forwarded-for", "203.0.113.9"),
            ],
            body,
        )
        .await;

    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.body,
        format!(
            r#"{{"message":"Workflow execution created","wf_id":"{SHORT}","wf_exec_id":"{SHORT}/exec_{:0>22}"}}"#,
            0
        )
    );
    let script = harness.script();
    let [created] = script.creates.as_slice() else {
        panic!(
            "expected one CreateExecution call, got {}",
            script.creates.len()
        );
    };
    assert_eq!(created.triggers, vec![body.as_bytes().to_vec()]);
    assert_eq!(created.workflow_id, WORKFLOW);
    assert_eq!(created.webhook_id, "12345678-1234-5678-1234-567812345678");
    assert_eq!(created.client_ip, "203.0.113.9");
    assert_eq!(created.method, "POST");
    assert_eq!(created.media_type, "application/json");
    assert!(!created.api_key_used);
    assert!(created.received_at.is_some());
    assert!(uuid::Uuid::parse_str(&created.request_id).is_ok());
}

#[tokio::test]
async fn transient_failures_are_retried_with_the_same_request_id() {
    let harness = Harness::start(Script {
        transient_failures: 2,
        ..script(online_webhook())
    })
    .await;
    assert_eq!(harness.post("{}").await.status, 200);

    let script = harness.script();
    assert_eq!(script.creates.len(), 3);
    assert!(
        script
            .creates
            .iter()
            .all(|c| c.request_id == script.creates[0].request_id)
    );
}

#[tokio::test]
async fn a_commit_that_keeps_failing_is_503_within_the_timeout() {
    let harness = Harness::start_with(
        Script {
            transient_failures: usize::MAX,
            ..script(online_webhook())
        },
        |config| config.control_timeout = Duration::from_millis(400),
    )
    .await;
    let started = Instant::now();
    let answer = harness.post("{}").await;

    assert_eq!(answer.status, 503);
    assert_eq!(answer.header("retry-after"), Some("1"));
    assert_eq!(
        answer.json(),
        serde_json::json!({"detail": "Service unavailable, retry later"})
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(harness.script().creates.len() > 1);
}

#[tokio::test]
async fn an_unreachable_control_plane_is_503() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = listener.local_addr().unwrap();
    let config = sluice_ingress::Config {
        // Nothing listens there: the port was just released.
        control_url: format!(
            "http://{}",
            TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap()
                .local_addr()
                .unwrap()
        ),
        ..sluice_ingress::Config::default()
    };
    let (shutdown, stopped) = oneshot::channel::<()>();
    let ingress = tokio::spawn(sluice_ingress::run(config, listener, async move {
        let _ = stopped.await;
    }));

    let mut stream = TcpStream::connect(http).await.unwrap();
    let request = format!(
        "POST {} HTTP/1.1\r\nhost: s\r\nconnection: close\r\ncontent-length: 2\r\n\r\n{{}}",
        webhook_path()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let answer = read_answer(stream).await;
    assert_eq!(answer.status, 503);
    assert_eq!(answer.header("retry-after"), Some("1"));

    shutdown.send(()).unwrap();
    ingress.await.unwrap().unwrap();
}

#[tokio::test]
async fn control_plane_answers_map_to_the_contract() {
    for (outcome, code, status, detail) in [
        (
            Some(Outcome::WebhookOffline),
            None,
            400,
            "Webhook is offline",
        ),
        (
            Some(Outcome::NotPublished),
            None,
            404,
            "No published workflow definition. Publish the workflow and try again.",
        ),
        (
            Some(Outcome::WebhookNotFound),
            None,
            401,
            "Unauthorized webhook request",
        ),
        (
            None,
            Some(Code::InvalidArgument),
            400,
            "Invalid json payload",
        ),
        (
            None,
            Some(Code::Internal),
            503,
            "Service unavailable, retry later",
        ),
    ] {
        let harness = Harness::start(Script {
            outcome,
            create_error: code,
            ..script(online_webhook())
        })
        .await;
        let answer = harness.post("{}").await;
        assert_eq!(
            (answer.status, answer.json()["detail"].as_str()),
            (status, Some(detail)),
            "{outcome:?} {code:?}"
        );
    }
}
