//! The IP allowlist, the client address behind trusted proxies, and spoofing attempts.

use std::net::IpAddr;

use crate::harness::{Options, Request, Setup, Stack};

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn allowing(cidrs: Vec<&'static str>) -> Setup {
    Setup {
        allowlist: cidrs,
        ..Setup::default()
    }
}

#[tokio::test]
async fn address_outside_the_allowlist_is_forbidden() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(allowing(vec!["10.0.0.0/8"])).await;
    let response = stack.send(Request::post(&webhook.path).json("{}")).await;
    assert_eq!(response.status, 403);
    assert_eq!(response.detail(), "Unauthorized webhook request");
    assert_eq!(stack.stored_executions().await, 0);
    stack.stop().await;
}

#[tokio::test]
async fn address_inside_the_allowlist_is_admitted() {
    let stack = Stack::start().await;
    let webhook = stack
        .webhook(allowing(vec!["10.0.0.0/8", "127.0.0.1"]))
        .await;
    let response = stack.send(Request::post(&webhook.path).json("{}")).await;
    assert_eq!(response.status, 200);
    let response = stack
        .send(
            Request::post(&webhook.path)
                .json("{}")
                .from(ip("127.0.0.2")),
        )
        .await;
    assert_eq!(response.status, 403, "127.0.0.1 became /32");
    assert_eq!(stack.stored_executions().await, 1);
    stack.stop().await;
}

#[tokio::test]
async fn forwarded_header_from_an_untrusted_peer_is_ignored() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(allowing(vec!["203.0.113.0/24"])).await;
    let response = stack
        .send(
            Request::post(&webhook.path)
                .header("x-forwarded-for", "203.0.113.9")
                .json("{}"),
        )
        .await;
    assert_eq!(response.status, 403);
    assert_eq!(stack.stored_executions().await, 0);
    stack.stop().await;
}

fn behind_proxy(proxies: &str) -> Options {
    let mut options = Options::default();
    options.ingress.trusted_proxies = proxies
        .split(',')
        .map(|cidr| cidr.parse().unwrap())
        .collect();
    options
}

#[tokio::test]
async fn trusted_proxy_forwards_the_client_address() {
    let stack = Stack::start_with(behind_proxy("127.0.0.0/8")).await;
    let webhook = stack.webhook(allowing(vec!["203.0.113.0/24"])).await;
    let response = stack
        .send(
            Request::post(&webhook.path)
                .header("x-forwarded-for", "203.0.113.9")
                .json("{}"),
        )
        .await;
    assert_eq!(response.status, 200);
    let stored = stack.executions(&webhook.workflow_id).await;
    assert_eq!(stored[0].client_ip, "203.0.113.9");
    stack.stop().await;
}

#[tokio::test]
async fn spoofed_left_most_forwarded_address_cannot_pass() {
    // The sender writes an allowed address into X-Forwarded-For itself; the proxy
    // appends the real one. The right-most untrusted address is the real client.
    let stack = Stack::start_with(behind_proxy("127.0.0.0/8")).await;
    let webhook = stack.webhook(allowing(vec!["203.0.113.0/24"])).await;
    let response = stack
        .send(
            Request::post(&webhook.path)
                .header("x-forwarded-for", "203.0.113.9, 198.51.100.7")
                .json("{}"),
        )
        .await;
    assert_eq!(response.status, 403);
    assert_eq!(stack.stored_executions().await, 0);
    stack.stop().await;
}

#[tokio::test]
async fn chained_trusted_proxies_are_skipped() {
    let stack = Stack::start_with(behind_proxy("127.0.0.0/8,10.0.0.0/8")).await;
    let webhook = stack.webhook(allowing(vec!["198.51.100.0/24"])).await;
    let response = stack
        .send(
            Request::post(&webhook.path)
                .header("x-forwarded-for", "192.0.2.1, 198.51.100.7, 10.1.2.3")
                .json("{}"),
        )
        .await;
    assert_eq!(response.status, 200);
    stack.stop().await;
}

#[tokio::test]
async fn forwarded_header_from_a_peer_outside_the_trusted_proxies_is_ignored() {
    // Only 127.0.0.5 is a trusted proxy; this request comes from 127.0.0.1.
    let stack = Stack::start_with(behind_proxy("127.0.0.5/32")).await;
    let webhook = stack.webhook(allowing(vec!["203.0.113.0/24"])).await;
    let spoof = Request::post(&webhook.path)
        .header("x-forwarded-for", "203.0.113.9")
        .json("{}");
    assert_eq!(stack.send(spoof.clone()).await.status, 403);
    assert_eq!(stack.send(spoof.from(ip("127.0.0.5"))).await.status, 200);
    assert_eq!(stack.stored_executions().await, 1);
    stack.stop().await;
}
