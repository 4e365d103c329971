//! A flood of requests to wrong URLs: every one is refused, legitimate senders keep
//! being served, and the control plane is not asked about each refused request.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use sluice_proto::ids::WorkflowId;
use tokio::{net::TcpStream, sync::Notify};
use uuid::Uuid;

use crate::harness::{Request, Setup, Stack};

const FLOOD: usize = 20_000;
const CONNECTIONS: usize = 16;

/// Sends `paths` in turn over one kept-alive connection and returns how many were not
/// answered 401.
async fn flood_connection(server: SocketAddr, paths: Arc<Vec<String>>, count: usize) -> usize {
    let stream = TcpStream::connect(server).await.expect("connect");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("HTTP handshake");
    tokio::spawn(connection);
    let mut other = 0;
    for index in 0..count {
        sender.ready().await.expect("the connection stays open");
        let request = http::Request::post(&paths[index % paths.len()])
            .header("host", server.to_string())
            .body(Empty::<Bytes>::new())
            .expect("a request");
        let response = sender.send_request(request).await.expect("an answer");
        if response.status() != 401 {
            other += 1;
        }
        response.into_body().collect().await.expect("the body");
    }
    other
}

/// The GetWebhookConfig calls the control plane has answered, whatever their outcome.
fn config_fetches(metrics: &str) -> u64 {
    metrics
        .lines()
        .filter(|line| {
            line.starts_with("sluice_control_grpc_calls_total{")
                && line.contains("/sluice.v1.IngressControl/GetWebhookConfig")
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

#[tokio::test]
async fn wrong_urls_are_refused_without_a_control_call_each_while_senders_are_served() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    let workflow = webhook
        .path
        .rsplit('/')
        .nth(1)
        .expect("workflow id")
        .to_owned();
    let mut paths = Vec::new();
    for attempt in 0..4 {
        paths.push(format!(
            "/webhooks/{workflow}/{}",
            "0".repeat(63) + &attempt.to_string()
        ));
        let unknown = WorkflowId::new(Uuid::new_v4()).short();
        paths.push(format!("/webhooks/{unknown}/{}", webhook.secret));
    }
    let paths = Arc::new(paths);
    let before = config_fetches(&stack.control_metrics().render());

    let done = Arc::new(Notify::new());
    let legitimate = {
        let done = Arc::clone(&done);
        let path = webhook.path.clone();
        let http = stack.http;
        tokio::spawn(async move {
            let mut accepted = 0;
            loop {
                let response =
                    crate::harness::http::send(http, Request::post(&path).json("{}")).await;
                assert_eq!(response.status, 200, "a legitimate request was refused");
                accepted += 1;
                tokio::select! {
                    () = done.notified() => return accepted,
                    () = tokio::time::sleep(Duration::from_millis(20)) => {}
                }
            }
        })
    };

    let floods: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            tokio::spawn(flood_connection(
                stack.http,
                Arc::clone(&paths),
                FLOOD / CONNECTIONS,
            ))
        })
        .collect();
    let mut not_refused = 0;
    for flood in floods {
        not_refused += flood.await.expect("the flood task");
    }
    done.notify_one();
    let accepted = legitimate.await.expect("the legitimate sender");

    assert_eq!(not_refused, 0, "every wrong URL is answered 401");
    assert!(
        accepted >= 5,
        "only {accepted} legitimate requests got through"
    );
    assert_eq!(stack.stored_executions().await, accepted);
    let fetches = config_fetches(&stack.control_metrics().render()) - before;
    // Until the first answer about a workflow is cached, each concurrent sender may
    // fetch it (concurrent misses are not merged), and a cache invalidation may cost
    // another round; after that, none does. Far from one fetch per request.
    let workflows = 1 + paths.len() / 2;
    let bound = (2 * workflows * (CONNECTIONS + 1)) as u64;
    assert!(
        fetches <= bound,
        "{fetches} configuration fetches for {FLOOD} requests (at most {bound} expected)"
    );
    println!("{FLOOD} refused requests cost {fetches} configuration fetches");
    stack.stop().await;
}
