//! What an operator relies on: the health endpoints of both services, the metrics they
//! expose, and a shutdown that finishes the requests it had accepted.

use std::{sync::Arc, time::Duration};

use http::{Method, StatusCode};
use sluice_telemetry::metrics_endpoint::{self, Render};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::oneshot,
};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::harness::{Options, Request, Setup, Stack};

/// Polls `probe` until it returns true, for at most 10 s.
async fn eventually<F, Fut>(what: &str, mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..100 {
        if probe().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} did not happen within 10 s");
}

async fn get(stack: &Stack, path: &str) -> crate::harness::Response {
    stack.send(Request::new(Method::GET, path)).await
}

#[tokio::test]
async fn liveness_is_ok_and_readiness_follows_the_control_plane() {
    let mut stack = Stack::start_with(Options {
        ingress: sluice_ingress::Config {
            path_prefix: "/api".to_owned(),
            ..Options::default().ingress
        },
        ..Options::default()
    })
    .await;

    let alive = get(&stack, "/healthz").await;
    assert_eq!(alive.status, StatusCode::OK);
    assert_eq!(alive.json(), serde_json::json!({"status": "ok"}));
    eventually("readiness", || async {
        get(&stack, "/readyz").await.status == StatusCode::OK
    })
    .await;
    // The probes live outside the path prefix, which belongs to the webhooks.
    assert_eq!(
        get(&stack, "/api/healthz").await.status,
        StatusCode::NOT_FOUND
    );

    stack.stop_control().await;
    eventually("unreadiness", || async {
        get(&stack, "/readyz").await.status == StatusCode::SERVICE_UNAVAILABLE
    })
    .await;
    let unready = get(&stack, "/readyz").await;
    assert_eq!(
        unready.json(),
        serde_json::json!({"status": "control plane unreachable"})
    );
    assert_eq!(get(&stack, "/healthz").await.status, StatusCode::OK);

    stack.restart_control().await;
    eventually("readiness again", || async {
        get(&stack, "/readyz").await.status == StatusCode::OK
    })
    .await;
    stack.stop().await;
}

async fn control_health(stack: &Stack, service: &str) -> Option<ServingStatus> {
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", stack.grpc))
        .expect("control URL")
        .connect()
        .await
        .ok()?;
    let answer = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .ok()?;
    Some(answer.into_inner().status())
}

#[tokio::test]
async fn control_health_follows_the_database() {
    let stack = Stack::start_with(Options {
        database_proxy: true,
        ..Options::default()
    })
    .await;
    let services = ["", "sluice.v1.IngressControl", "sluice.v1.Admin"];
    for service in services {
        eventually("SERVING", || async {
            control_health(&stack, service).await == Some(ServingStatus::Serving)
        })
        .await;
    }

    let proxy = stack
        .proxy
        .as_ref()
        .expect("the stack has a database proxy");
    proxy.cut();
    for service in services {
        eventually("NOT_SERVING", || async {
            control_health(&stack, service).await == Some(ServingStatus::NotServing)
        })
        .await;
    }

    proxy.restore();
    eventually("SERVING again", || async {
        control_health(&stack, "sluice.v1.IngressControl").await == Some(ServingStatus::Serving)
    })
    .await;
    stack.stop().await;
}

/// Serves `render` on a loopback port, as `--metrics-addr` does, until the sender is
/// dropped or fired.
async fn serve_metrics(render: Render) -> (std::net::SocketAddr, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("metrics address");
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(metrics_endpoint::serve(listener, render, async move {
        let _ = stopped.await;
    }));
    (address, stop)
}

/// One scrape, as text.
async fn scrape(address: std::net::SocketAddr) -> String {
    let response = crate::harness::http::send(address, Request::new(Method::GET, "/metrics")).await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(
        response
            .header("content-type")
            .is_some_and(|value| value.starts_with("application/openmetrics-text")),
        "{:?}",
        response.headers
    );
    String::from_utf8(response.body.to_vec()).expect("metrics are text")
}

/// The value of the sample named exactly `series` (name and labels), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        value.parse().ok()
    })
}

#[tokio::test]
async fn metrics_count_requests_by_outcome_and_executions_created() {
    let ingress_metrics = sluice_ingress::Metrics::default();
    let stack = Stack::start_with(Options {
        ingress: sluice_ingress::Config {
            metrics: ingress_metrics.clone(),
            ..Options::default().ingress
        },
        ..Options::default()
    })
    .await;
    let control_metrics = stack.control_metrics();
    let (ingress_endpoint, _stop_ingress) =
        serve_metrics(Arc::new(move || ingress_metrics.render())).await;
    let (control_endpoint, _stop_control) =
        serve_metrics(Arc::new(move || control_metrics.render())).await;

    let webhook = stack.webhook(Setup::default()).await;
    for _ in 0..2 {
        let created = stack.send(Request::post(&webhook.path).json("{}")).await;
        assert_eq!(created.status, StatusCode::OK);
    }
    let batch = stack
        .send(
            Request::post(&webhook.path)
                .header("content-type", "application/x-ndjson")
                .body("{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n"),
        )
        .await;
    assert_eq!(batch.status, StatusCode::OK);
    let wrong_secret = webhook.path.replace(&webhook.secret, "not-the-secret");
    let refused = stack.send(Request::post(&wrong_secret).json("{}")).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let bad_json = stack.send(Request::post(&webhook.path).json("{")).await;
    assert_eq!(bad_json.status, StatusCode::BAD_REQUEST);

    let ingress = scrape(ingress_endpoint).await;
    let requests = "sluice_ingress_requests_total";
    assert_eq!(
        sample(
            &ingress,
            &format!("{requests}{{status_class=\"2xx\",outcome=\"created\"}}")
        ),
        Some(3.0),
        "{ingress}"
    );
    assert_eq!(
        sample(
            &ingress,
            &format!("{requests}{{status_class=\"4xx\",outcome=\"unauthorized\"}}")
        ),
        Some(1.0),
        "{ingress}"
    );
    assert_eq!(
        sample(
            &ingress,
            &format!("{requests}{{status_class=\"4xx\",outcome=\"invalid_payload\"}}")
        ),
        Some(1.0),
        "{ingress}"
    );
    assert_eq!(
        sample(
            &ingress,
            "sluice_ingress_request_duration_seconds_count{outcome=\"created\"}"
        ),
        Some(3.0),
        "{ingress}"
    );
    let lookups = ["hit", "miss"]
        .iter()
        .filter_map(|result| {
            sample(
                &ingress,
                &format!("sluice_ingress_config_cache_lookups_total{{result=\"{result}\"}}"),
            )
        })
        .sum::<f64>();
    assert_eq!(lookups, 5.0, "{ingress}");
    assert!(
        !ingress.contains(&webhook.secret),
        "a secret in the metrics"
    );
    assert!(
        !ingress.contains(&webhook.workflow_id),
        "a workflow id in the metrics"
    );

    let control = scrape(control_endpoint).await;
    assert_eq!(
        sample(&control, "sluice_control_executions_created_total"),
        Some(5.0),
        "{control}"
    );
    assert_eq!(
        sample(
            &control,
            "sluice_control_grpc_calls_total{method=\"/sluice.v1.IngressControl/CreateExecution\",code=\"OK\"}"
        ),
        Some(3.0),
        "{control}"
    );
    assert_eq!(
        sample(
            &control,
            "sluice_control_database_commit_duration_seconds_count"
        ),
        Some(3.0),
        "{control}"
    );
    // The three requests came one after another, so each had a transaction of its own.
    assert_eq!(
        sample(&control, "sluice_control_commit_batch_size_count"),
        Some(3.0),
        "{control}"
    );
    assert_eq!(
        sample(&control, "sluice_control_commit_batch_size_sum"),
        Some(3.0),
        "{control}"
    );
    eventually("the database gauge", || async {
        sample(
            &scrape(control_endpoint).await,
            "sluice_control_database_up",
        ) == Some(1.0)
    })
    .await;
    stack.stop().await;
}

/// Sends a request's headers and the first byte of its body, and returns the connection
/// with the rest of the body still to send.
async fn begin_request(stack: &Stack, path: &str, body: &str) -> TcpStream {
    let mut stream = TcpStream::connect(stack.http).await.expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: sluice\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{}",
        body.len(),
        &body[..1]
    );
    stream
        .write_all(head.as_bytes())
        .await
        .expect("send the head");
    stream
}

/// Sends the rest of the body and reads the whole answer; `None` when the connection
/// ended before a complete answer.
async fn finish_request(mut stream: TcpStream, body: &str) -> Option<(u16, String)> {
    stream.write_all(&body.as_bytes()[1..]).await.ok()?;
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&answer).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head.lines().find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().ok())?
            })?;
            if body.len() >= length {
                let status = head.get(9..12)?.parse().ok()?;
                return Some((status, body.to_owned()));
            }
        }
        let read = tokio::time::timeout(Duration::from_secs(20), stream.read(&mut buffer))
            .await
            .ok()?
            .ok()?;
        if read == 0 {
            return None;
        }
        answer.extend_from_slice(&buffer[..read]);
    }
}

#[tokio::test]
async fn shutdown_answers_every_request_in_flight_and_stores_every_200() {
    const IN_FLIGHT: usize = 24;
    let mut stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;

    // Load that is on the wire when the signal comes: every request has sent its
    // headers and part of its body.
    let mut streams = Vec::new();
    for index in 0..IN_FLIGHT {
        let body = format!("{{\"n\":{index}}}");
        streams.push((begin_request(&stack, &webhook.path, &body).await, body));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let draining = stack.begin_ingress_shutdown();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !draining.is_finished(),
        "the ingress waits for its requests"
    );

    // A request that starts after the signal is refused at connect, never half-served.
    assert!(TcpStream::connect(stack.http).await.is_err());

    let answers = futures_util::future::join_all(
        streams
            .into_iter()
            .map(|(stream, body)| async move { finish_request(stream, &body).await }),
    )
    .await;
    let mut created = Vec::new();
    for (index, answer) in answers.iter().enumerate() {
        let (status, body) = answer
            .as_ref()
            .unwrap_or_else(|| panic!("request {index} got no complete answer"));
        match status {
            200 => created.push(serde_json::json!({ "n": index })),
            503 => {}
            other => panic!("request {index} was answered {other}: {body}"),
        }
    }
    tokio::time::timeout(Duration::from_secs(20), draining)
        .await
        .expect("the ingress stops once its requests are answered")
        .expect("the ingress task does not panic")
        .expect("the ingress stops cleanly");

    // The control plane was never stopped, so every request was committed.
    assert_eq!(created.len(), IN_FLIGHT);
    created.sort_by_key(|trigger| trigger.to_string());
    assert_eq!(stack.triggers(&webhook.workflow_id).await, created);
    stack.stop().await;
}

#[tokio::test]
async fn shutdown_stops_waiting_at_the_drain_timeout() {
    let mut stack = Stack::start_with(Options {
        ingress: sluice_ingress::Config {
            drain_timeout: Duration::from_millis(500),
            ..Options::default().ingress
        },
        ..Options::default()
    })
    .await;
    let webhook = stack.webhook(Setup::default()).await;

    // A sender that never finishes its body holds its request open forever.
    let _stalled = begin_request(&stack, &webhook.path, "{\"never\":1}").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let draining = stack.begin_ingress_shutdown();
    let stopped = tokio::time::timeout(Duration::from_secs(5), draining)
        .await
        .expect("the ingress stops at its drain timeout");
    stopped
        .expect("the ingress task does not panic")
        .expect("the ingress stops cleanly");
    assert_eq!(stack.stored_executions().await, 0);
    stack.stop().await;
}

/// Calls `path` on the control plane without a token, as an HTTP/2 gRPC request with an
/// empty message, and returns the grpc-status it was answered with.
async fn raw_grpc_call(stack: &Stack, path: &str) -> Option<String> {
    let stream = TcpStream::connect(stack.grpc).await.expect("connect");
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .expect("HTTP/2 handshake");
    tokio::spawn(connection);
    let request = http::Request::builder()
        .method(Method::POST)
        .uri(format!("http://{}{path}", stack.grpc))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(http_body_util::Full::new(bytes::Bytes::from_static(&[
            0, 0, 0, 0, 0,
        ])))
        .expect("a well-formed request");
    let response = sender.send_request(request).await.expect("an answer");
    let in_headers = response.headers().get("grpc-status").cloned();
    let collected = http_body_util::BodyExt::collect(response.into_body())
        .await
        .expect("the body");
    let status = in_headers.or_else(|| collected.trailers()?.get("grpc-status").cloned())?;
    Some(status.to_str().ok()?.to_owned())
}

#[tokio::test]
async fn grpc_calls_are_counted_by_method_and_code_and_made_up_paths_are_unknown() {
    let stack = Stack::start().await;
    let (endpoint, _stop) = serve_metrics({
        let metrics = stack.control_metrics();
        Arc::new(move || metrics.render())
    })
    .await;

    // Refused for want of a token, before any service sees the call.
    let refused = raw_grpc_call(&stack, "/sluice.v1.Admin/ListWorkflows").await;
    assert_eq!(refused.as_deref(), Some("16"));
    for index in 0..3 {
        let path = format!("/sluice.v1.Made/Up{index}");
        assert!(raw_grpc_call(&stack, &path).await.is_some());
    }
    stack.webhook(Setup::default()).await;

    let control = scrape(endpoint).await;
    let calls = "sluice_control_grpc_calls_total";
    assert_eq!(
        sample(
            &control,
            &format!(
                "{calls}{{method=\"/sluice.v1.Admin/ListWorkflows\",code=\"UNAUTHENTICATED\"}}"
            )
        ),
        Some(1.0),
        "{control}"
    );
    assert_eq!(
        sample(
            &control,
            &format!("{calls}{{method=\"/sluice.v1.Admin/CreateWorkflow\",code=\"OK\"}}")
        ),
        Some(1.0),
        "{control}"
    );
    let unknown: f64 = control
        .lines()
        .filter(|line| line.starts_with(&format!("{calls}{{method=\"unknown\"")))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(unknown, 3.0, "{control}");
    assert!(
        !control.contains("Made/Up"),
        "a made-up path became a label"
    );
    stack.stop().await;
}
