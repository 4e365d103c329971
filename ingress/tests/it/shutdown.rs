//! Stopping: draining requests in flight.

use std::time::Duration;

use tokio::{io::AsyncWriteExt, net::TcpStream};

use crate::harness::{Harness, online_webhook, read_answer, script, webhook_path};

#[tokio::test]
async fn shutdown_lets_a_request_in_flight_finish() {
    let harness = Harness::start(script(online_webhook())).await;
    let mut stream = TcpStream::connect(harness.http).await.unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nhost: s\r\ncontent-length: 8\r\n\r\n{{\"a\":",
        webhook_path()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let Harness {
        http,
        script,
        shutdown,
        ingress,
    } = harness;
    shutdown.unwrap().send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!ingress.is_finished());

    stream.write_all(b"12}").await.unwrap();
    let answer = read_answer(stream).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        script.lock().unwrap().creates[0].triggers,
        vec![b"{\"a\":12}".to_vec()]
    );
    ingress.await.unwrap().unwrap();
    assert!(TcpStream::connect(http).await.is_err());
}

#[tokio::test]
async fn stopping_an_idle_ingress_returns() {
    Harness::start(script(online_webhook())).await.stop().await;
}
