//! Content encodings and the limits on what a request may carry.

use std::io::Write;

use flate2::{
    Compression,
    write::{DeflateEncoder, GzEncoder, ZlibEncoder},
};
use serde_json::json;

use crate::harness::{Options, Request, Setup, Stack};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn raw_deflate(data: &[u8]) -> Vec<u8> {
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test]
async fn gzip_and_deflate_bodies_are_decoded() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    let body = br#"{"zipped":true}"#;
    for (encoding, encoded) in [
        ("gzip", gzip(body)),
        ("x-gzip", gzip(body)),
        ("GZIP", gzip(body)),
        ("deflate", zlib(body)),
        ("deflate", raw_deflate(body)),
        ("identity", body.to_vec()),
    ] {
        let response = stack
            .send(
                Request::post(&webhook.path)
                    .header("content-type", "application/json")
                    .header("content-encoding", encoding)
                    .body(encoded),
            )
            .await;
        assert_eq!(response.status, 200, "{encoding}: {:?}", response.body);
    }
    assert_eq!(
        stack.triggers(&webhook.workflow_id).await,
        vec![json!({"zipped": true}); 6]
    );
    stack.stop().await;
}

#[tokio::test]
async fn unsupported_or_listed_encodings_are_415() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    for encoding in ["br", "gzip, deflate", "compress"] {
        let response = stack
            .send(
                Request::post(&webhook.path)
                    .header("content-encoding", encoding)
                    .json("{}"),
            )
            .await;
        assert_eq!(response.status, 415, "{encoding}");
        assert_eq!(
            response.detail(),
            format!("Unsupported content encoding: {encoding}")
        );
    }
    assert_eq!(stack.stored_executions().await, 0);
    stack.stop().await;
}

#[tokio::test]
async fn corrupt_compressed_body_is_400() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    let mut corrupt = gzip(br#"{"a":1}"#);
    let end = corrupt.len() - 8;
    corrupt.truncate(end);
    corrupt.extend_from_slice(b"garbage!");
    for (encoding, body) in [
        ("gzip", corrupt),
        ("deflate", b"not deflate at all".to_vec()),
    ] {
        let response = stack
            .send(
                Request::post(&webhook.path)
                    .header("content-encoding", encoding)
                    .json("")
                    .body(body),
            )
            .await;
        assert_eq!(response.status, 400, "{encoding}");
        assert_eq!(response.detail(), "Invalid compressed body");
    }
    assert_eq!(stack.stored_executions().await, 0);
    stack.stop().await;
}

fn small_limits() -> Options {
    let mut options = Options::default();
    options.ingress.max_body_bytes = 64 * 1024;
    options.ingress.max_ndjson_lines = 3;
    options
}

/// A JSON string of exactly `bytes` bytes.
fn json_of_len(bytes: usize) -> Vec<u8> {
    format!("\"{}\"", "a".repeat(bytes - 2)).into_bytes()
}

#[tokio::test]
async fn body_over_the_limit_is_413_whether_or_not_its_length_was_sent() {
    let stack = Stack::start_with(small_limits()).await;
    let webhook = stack.webhook(Setup::default()).await;
    let big = json_of_len(64 * 1024 + 1);
    for chunked in [false, true] {
        let mut request = Request::post(&webhook.path)
            .header("content-type", "application/json")
            .body(big.clone());
        if chunked {
            request = request.chunked();
        }
        let response = stack.send(request).await;
        assert_eq!(response.status, 413, "chunked: {chunked}");
        assert_eq!(response.detail(), "Payload too large");
    }
    assert_eq!(stack.stored_executions().await, 0);
    stack.stop().await;
}

#[tokio::test]
async fn body_at_the_limit_is_accepted() {
    let stack = Stack::start_with(small_limits()).await;
    let webhook = stack.webhook(Setup::default()).await;
    let exact = json_of_len(64 * 1024);
    let response = stack
        .send(
            Request::post(&webhook.path)
                .header("content-type", "application/json")
                .body(exact)
                .chunked(),
        )
        .await;
    assert_eq!(response.status, 200);
    stack.stop().await;
}

#[tokio::test]
async fn decompression_bomb_is_413_and_stores_nothing() {
    let stack = Stack::start_with(small_limits()).await;
    let webhook = stack.webhook(Setup::default()).await;
    // 32 MiB of spaces compress to a few kilobytes, far under the limit, and decode to
    // 500 times the limit.
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(&vec![b' '; 32 * 1024 * 1024]).unwrap();
    let bomb = encoder.finish().unwrap();
    assert!(bomb.len() < 64 * 1024);
    let response = stack
        .send(
            Request::post(&webhook.path)
                .header("content-type", "application/json")
                .header("content-encoding", "gzip")
                .body(bomb),
        )
        .await;
    assert_eq!(response.status, 413);
    assert_eq!(response.detail(), "Payload too large");
    assert_eq!(stack.stored_executions().await, 0);
    stack.stop().await;
}

#[tokio::test]
async fn ndjson_over_the_line_cap_is_413_and_stores_nothing() {
    let stack = Stack::start_with(small_limits()).await;
    let webhook = stack.webhook(Setup::default()).await;
    let ndjson = |lines: usize| {
        Request::post(&webhook.path)
            .header("content-type", "application/x-ndjson")
            .body("{}\n\n".repeat(lines))
    };
    let response = stack.send(ndjson(4)).await;
    assert_eq!(response.status, 413);
    assert_eq!(response.detail(), "Too many ndjson lines (limit 3)");
    assert_eq!(stack.stored_executions().await, 0);
    let response = stack.send(ndjson(3)).await;
    assert_eq!(response.status, 200, "blank lines do not count");
    assert_eq!(stack.stored_executions().await, 3);
    stack.stop().await;
}

#[tokio::test]
async fn body_near_the_default_limit_is_stored() {
    // Larger than gRPC's customary 4 MiB message limit, within the 10 MiB body limit.
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    let response = stack
        .send(
            Request::post(&webhook.path)
                .header("content-type", "application/json")
                .body(json_of_len(9 * 1024 * 1024)),
        )
        .await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    assert_eq!(stack.stored_executions().await, 1);
    stack.stop().await;
}
