//! Our own faults are 503 with Retry-After, a 200 always means stored, and creating
//! executions is idempotent on the request id.

use std::time::Duration;

use sluice_proto::v1::{self, create_execution_response::Outcome};

use crate::harness::{Options, Request, Setup, Stack};

fn assert_retry_later(response: &crate::harness::Response) {
    assert_eq!(response.status, 503, "{:?}", response.body);
    assert_eq!(response.detail(), "Service unavailable, retry later");
    let retry_after: u64 = response
        .header("retry-after")
        .expect("a 503 carries Retry-After")
        .parse()
        .expect("Retry-After is a number of seconds");
    assert!(retry_after >= 1);
}

#[tokio::test]
async fn control_plane_down_is_503_and_recovers() {
    let mut stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    assert_eq!(
        stack
            .send(Request::post(&webhook.path).json("{}"))
            .await
            .status,
        200
    );

    stack.stop_control().await;
    let response = stack.send(Request::post(&webhook.path).json("{}")).await;
    assert_retry_later(&response);

    stack.restart_control().await;
    let mut status = 0;
    for _ in 0..50 {
        status = stack
            .send(Request::post(&webhook.path).json("{}"))
            .await
            .status
            .as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "the ingress reconnects by itself");
    assert_eq!(stack.stored_executions().await, 2);
    stack.stop().await;
}

#[tokio::test]
async fn database_down_is_503_never_200_and_recovers() {
    let stack = Stack::start_with(Options {
        database_proxy: true,
        ..Options::default()
    })
    .await;
    let webhook = stack.webhook(Setup::default()).await;
    let proxy = stack.proxy.as_ref().unwrap();

    let mut accepted = 0;
    proxy.cut();
    for _ in 0..5 {
        let response = stack
            .send(Request::post(&webhook.path).json(r#"{"during":"outage"}"#))
            .await;
        if response.status == 200 {
            accepted += 1;
        } else {
            assert_retry_later(&response);
        }
    }

    proxy.restore();
    let mut recovered = false;
    for _ in 0..100 {
        let response = stack
            .send(Request::post(&webhook.path).json(r#"{"after":"outage"}"#))
            .await;
        if response.status == 200 {
            accepted += 1;
            recovered = true;
            break;
        }
        assert_retry_later(&response);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        recovered,
        "requests succeed again once the database is back"
    );
    assert_eq!(
        stack.stored_executions().await,
        accepted,
        "every 200 is stored and nothing else is"
    );
    stack.stop().await;
}

#[tokio::test]
async fn create_execution_is_idempotent_on_the_request_id() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    let mut control = stack.ingress_control.clone();
    let config = control
        .get_webhook_config(v1::GetWebhookConfigRequest {
            workflow_id: webhook.workflow_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let request = v1::CreateExecutionRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        workflow_id: config.workflow_id.clone(),
        webhook_id: config.webhook_id.clone(),
        triggers: vec![b"{\"n\":1}".to_vec().into(), Vec::new().into()],
        received_at: Some(std::time::SystemTime::now().into()),
        client_ip: "127.0.0.1".to_owned(),
        method: "POST".to_owned(),
        media_type: "application/x-ndjson".to_owned(),
        api_key_used: false,
        dedup_key: String::new(),
        trace_context: Default::default(),
    };
    let first = control
        .create_execution(request.clone())
        .await
        .unwrap()
        .into_inner();
    let again = control
        .create_execution(request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.outcome(), Outcome::Created);
    assert_eq!(again.outcome(), Outcome::Created);
    assert_eq!(first.wf_exec_ids.len(), 2);
    assert_eq!(first.wf_exec_ids, again.wf_exec_ids);
    assert_eq!(stack.stored_executions().await, 2);
    stack.stop().await;
}

#[tokio::test]
async fn webhook_switched_offline_is_enforced_at_once() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    assert_eq!(
        stack
            .send(Request::post(&webhook.path).json("{}"))
            .await
            .status,
        200
    );
    stack
        .admin
        .clone()
        .update_webhook(v1::UpdateWebhookRequest {
            workflow_id: webhook.workflow_id.clone(),
            status: Some("offline".to_owned()),
            ..Default::default()
        })
        .await
        .unwrap();
    let response = stack.send(Request::post(&webhook.path).json("{}")).await;
    assert_eq!(response.status, 400);
    assert_eq!(response.detail(), "Webhook is offline");
    assert_eq!(stack.stored_executions().await, 1);
    stack.stop().await;
}

#[tokio::test]
async fn shutdown_lets_a_request_in_flight_finish() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;

    // Half a request is on the wire when the ingress is told to stop.
    let mut stream = tokio::net::TcpStream::connect(stack.http).await.unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nhost: sluice\r\ncontent-type: application/json\r\n\
         content-length: 8\r\n\r\n{{\"a\":",
        webhook.path
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let draining = stack.begin_ingress_shutdown();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!draining.is_finished(), "the ingress waits for the request");

    stream.write_all(b"12}").await.unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    while !String::from_utf8_lossy(&answer).contains("Workflow execution created") {
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer))
            .await
            .expect("the answer arrives")
            .unwrap();
        assert!(read > 0, "connection closed before the answer: {answer:?}");
        answer.extend_from_slice(&buffer[..read]);
    }
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    drop(stream);
    draining.await.unwrap().unwrap();
    assert_eq!(
        stack.triggers(&webhook.workflow_id).await,
        vec![serde_json::json!({"a": 12})]
    );
    stack.stop().await;
}

#[tokio::test]
async fn brief_control_plane_restart_is_ridden_out_within_the_timeout() {
    let mut stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    stack.stop_control().await;

    // The request starts while the control plane is down and ends after it is back.
    let sending = {
        let request = Request::post(&webhook.path).json(r#"{"rolling":"deploy"}"#);
        let http = stack.http;
        tokio::spawn(async move { crate::harness::http::send(http, request).await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    stack.restart_control().await;

    let response = sending.await.unwrap();
    assert_eq!(response.status, 200, "{:?}", response.body);
    assert_eq!(stack.stored_executions().await, 1);
    stack.stop().await;
}

/// Under concurrent load the ingress gathers creations into shared control plane
/// calls; each sender still gets its own ids, each for its own payload.
#[tokio::test]
async fn concurrent_requests_share_control_calls_yet_each_gets_its_own_executions() {
    const SENDERS: usize = 64;
    const EACH: usize = 5;
    let stack = std::sync::Arc::new(Stack::start().await);
    let webhook = stack.webhook(Setup::default()).await;

    let mut sends = tokio::task::JoinSet::new();
    for sender in 0..SENDERS {
        let (stack, path) = (stack.clone(), webhook.path.clone());
        sends.spawn(async move {
            let mut answers = Vec::new();
            for round in 0..EACH {
                let n = sender * EACH + round;
                let response = stack
                    .send(Request::post(&path).json(&format!(r#"{{"n":{n}}}"#)))
                    .await;
                assert_eq!(response.status, 200, "{:?}", response.body);
                let id = response.json()["wf_exec_id"]
                    .as_str()
                    .expect("a wf_exec_id")
                    .to_owned();
                answers.push((n, id));
            }
            answers
        });
    }
    let mut answered = std::collections::HashMap::new();
    while let Some(joined) = sends.join_next().await {
        for (n, id) in joined.unwrap() {
            assert!(answered.insert(id, n).is_none(), "one id answered twice");
        }
    }

    let executions = stack.executions(&webhook.workflow_id).await;
    assert_eq!(executions.len(), SENDERS * EACH);
    for execution in &executions {
        let trigger: serde_json::Value = serde_json::from_str(&execution.trigger_json).unwrap();
        assert_eq!(
            trigger["n"].as_u64().map(|n| n as usize),
            answered.get(&execution.wf_exec_id).copied(),
            "the stored payload is the one sent by whoever got this id"
        );
    }

    let metrics = stack.control_metrics().render();
    let calls = |method: &str| {
        let series = format!(
            "sluice_control_grpc_calls_total{{method=\"/sluice.v1.IngressControl/{method}\",code=\"OK\"}} "
        );
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(&series)?.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let (single, shared) = (calls("CreateExecution"), calls("CreateExecutions"));
    assert!(shared > 0.0, "no call was shared: {metrics}");
    assert!(
        single + shared < (SENDERS * EACH) as f64,
        "{single} single and {shared} shared calls for {} requests",
        SENDERS * EACH
    );
    let Ok(stack) = std::sync::Arc::try_unwrap(stack) else {
        panic!("every sender has finished");
    };
    stack.stop().await;
}
