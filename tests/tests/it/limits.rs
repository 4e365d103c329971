//! The ingress's abuse limits: the per-webhook rate limit with its handshake reserve,
//! load shedding, and the connection-level limits.

use std::{
    num::NonZeroU32,
    time::{Duration, Instant},
};

use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::harness::{Options, Request, Setup, Stack};

fn with_ingress(change: impl FnOnce(&mut sluice_ingress::Config)) -> Options {
    let mut options = Options::default();
    change(&mut options.ingress);
    options
}

/// Reads until the server closes the connection or `limit` passes; the bytes read and
/// whether it was closed.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let mut received = Vec::new();
    let deadline = Instant::now() + limit;
    let mut buffer = [0; 4096];
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(remaining, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (received, true),
            Ok(Ok(read)) => received.extend_from_slice(&buffer[..read]),
            Err(_) => return (received, false),
        }
    }
}

#[tokio::test]
async fn a_webhook_over_its_rate_is_answered_429_but_handshakes_still_pass() {
    let stack = Stack::start_with(with_ingress(|ingress| {
        ingress.rate_limit = Some(sluice_ingress::RateLimit {
            per_second: 0.2,
            burst: NonZeroU32::new(3).unwrap(),
        });
    }))
    .await;
    let webhook = stack.webhook(Setup::default()).await;
    let other = stack.webhook(Setup::default()).await;

    for _ in 0..3 {
        let response = stack.send(Request::post(&webhook.path).json("{}")).await;
        assert_eq!(response.status, 200);
    }
    let limited = stack.send(Request::post(&webhook.path).json("{}")).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.detail(), "Too many requests");
    let retry_after: u64 = limited
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=5).contains(&retry_after), "{retry_after}");
    assert_eq!(stack.stored_executions().await, 3);

    // Handshakes draw on their own reserve, so the owner can still verify the URL.
    let okta = stack
        .send(
            Request::post(format!("{}?vendor=okta", webhook.path))
                .header("x-okta-verification-challenge", "abc"),
        )
        .await;
    assert_eq!(okta.status, 200);
    let slack = stack
        .send(Request::post(&webhook.path).json(r#"{"type":"url_verification","challenge":"c1"}"#))
        .await;
    assert_eq!(slack.status, 200);
    assert_eq!(slack.json(), json!({"challenge": "c1"}));

    // A wrong URL is still refused as such, and another webhook has its own budget.
    let wrong = webhook.path_with_wrong_secret();
    assert_eq!(
        stack.send(Request::post(&wrong).json("{}")).await.status,
        401
    );
    assert_eq!(
        stack
            .send(Request::post(&other.path).json("{}"))
            .await
            .status,
        200
    );
    stack.stop().await;
}

#[tokio::test]
async fn requests_beyond_the_in_flight_bound_are_shed_with_503() {
    let stack = Stack::start_with(with_ingress(|ingress| ingress.max_in_flight = 1)).await;
    let webhook = stack.webhook(Setup::default()).await;

    // One request holds the only slot while its body trickles in.
    let mut slow = TcpStream::connect(stack.http).await.expect("connect");
    let head = format!(
        "POST {} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{{",
        webhook.path
    );
    slow.write_all(head.as_bytes())
        .await
        .expect("send the head");
    tokio::time::sleep(Duration::from_millis(200)).await;

    let shed = stack.send(Request::post(&webhook.path).json("{}")).await;
    assert_eq!(shed.status, 503);
    assert_eq!(shed.header("retry-after"), Some("1"));

    slow.write_all(b"}").await.expect("finish the body");
    let (answer, _) = read_until_closed(&mut slow, Duration::from_secs(2)).await;
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert_eq!(
        stack
            .send(Request::post(&webhook.path).json("{}"))
            .await
            .status,
        200
    );
    stack.stop().await;
}

#[tokio::test]
async fn too_many_header_fields_are_refused() {
    let stack = Stack::start_with(with_ingress(|ingress| {
        ingress.connection_limits.max_headers = 10;
    }))
    .await;
    let webhook = stack.webhook(Setup::default()).await;
    let mut stream = TcpStream::connect(stack.http).await.expect("connect");
    let mut head = format!(
        "POST {} HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n",
        webhook.path
    );
    for index in 0..20 {
        head.push_str(&format!("x-extra-{index}: 1\r\n"));
    }
    head.push_str("\r\n{}");
    stream.write_all(head.as_bytes()).await.expect("send");
    let (answer, closed) = read_until_closed(&mut stream, Duration::from_secs(2)).await;
    assert!(
        answer.starts_with(b"HTTP/1.1 431"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert!(closed);
    assert_eq!(stack.stored_executions().await, 0);
    stack.stop().await;
}

#[tokio::test]
async fn a_client_sending_its_head_one_byte_a_second_is_cut_off() {
    let stack = Stack::start_with(with_ingress(|ingress| {
        ingress.connection_limits.header_read_timeout = Duration::from_secs(1);
    }))
    .await;
    let webhook = stack.webhook(Setup::default()).await;
    let mut stream = TcpStream::connect(stack.http).await.expect("connect");
    let head = format!("POST {} HTTP/1.1\r\nhost: x\r\n", webhook.path);
    let started = Instant::now();
    let mut cut_off = false;
    for byte in head.bytes() {
        if stream.write_all(&[byte]).await.is_err() {
            cut_off = true;
            break;
        }
        let (_, closed) = read_until_closed(&mut stream, Duration::from_millis(400)).await;
        if closed {
            cut_off = true;
            break;
        }
    }
    assert!(cut_off, "the slow client was never disconnected");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    stack.stop().await;
}

#[tokio::test]
async fn connections_beyond_the_limit_are_closed_at_once() {
    let stack = Stack::start_with(with_ingress(|ingress| {
        ingress.connection_limits.max_connections = 2;
    }))
    .await;
    let webhook = stack.webhook(Setup::default()).await;
    let _first = TcpStream::connect(stack.http).await.expect("connect");
    let _second = TcpStream::connect(stack.http).await.expect("connect");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = TcpStream::connect(stack.http).await.expect("connect");
    let (received, closed) = read_until_closed(&mut third, Duration::from_secs(2)).await;
    assert!(closed && received.is_empty());

    drop((_first, _second));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        stack
            .send(Request::post(&webhook.path).json("{}"))
            .await
            .status,
        200
    );
    stack.stop().await;
}

#[tokio::test]
async fn a_body_trickling_past_the_body_read_timeout_is_answered_408() {
    let stack = Stack::start_with(with_ingress(|ingress| {
        ingress.body_read_timeout = Duration::from_secs(1);
    }))
    .await;
    let webhook = stack.webhook(Setup::default()).await;
    let mut stream = TcpStream::connect(stack.http).await.expect("connect");
    let head = format!(
        "POST {} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 40\r\n\r\n",
        webhook.path
    );
    stream
        .write_all(head.as_bytes())
        .await
        .expect("send the head");
    let started = Instant::now();
    let mut answer = Vec::new();
    for _ in 0..40 {
        if stream.write_all(b" ").await.is_err() {
            break;
        }
        let (received, closed) = read_until_closed(&mut stream, Duration::from_millis(300)).await;
        answer.extend_from_slice(&received);
        if closed {
            break;
        }
    }
    assert!(
        answer.starts_with(b"HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(stack.stored_executions().await, 0);
    stack.stop().await;
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_header_read_timeout() {
    let stack = Stack::start_with(with_ingress(|ingress| {
        ingress.connection_limits.header_read_timeout = Duration::from_secs(1);
    }))
    .await;
    let webhook = stack.webhook(Setup::default()).await;
    let mut stream = TcpStream::connect(stack.http).await.expect("connect");
    let request = format!(
        "POST {} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{{}}",
        webhook.path
    );
    stream.write_all(request.as_bytes()).await.expect("send");
    let started = Instant::now();
    let (answer, closed) = read_until_closed(&mut stream, Duration::from_secs(4)).await;
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert!(closed, "the idle connection stayed open");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    stack.stop().await;
}
