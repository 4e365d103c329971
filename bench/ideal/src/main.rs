//! The ideal webhook ingress for benchmarks: a single process that accepts a POST,
//! checks that the body is JSON-shaped text, commits one row per request into an
//! executions-like table, and answers 200 only after the commit, just like Sluice
//! promises. It has no checks, no configuration and no second process, so it marks
//! the ceiling that this machine and PostgreSQL allow for a durable accept.
//!
//! Usage: `sluice-bench-ideal LISTEN_ADDR DATABASE_URL [WRITERS]`

mod batch;

use std::{convert::Infallible, net::SocketAddr, sync::Arc};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode, body::Incoming, service::service_fn};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use crate::batch::Batcher;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen: SocketAddr = args
        .next()
        .context("missing LISTEN_ADDR")?
        .parse()
        .context("parse LISTEN_ADDR")?;
    let database_url = args.next().context("missing DATABASE_URL")?;
    let writers: usize = match args.next() {
        Some(text) => text.parse().context("parse WRITERS")?,
        None => 4,
    };

    let batcher = Arc::new(Batcher::start(&database_url, writers).await?);
    let listener = TcpListener::bind(listen).await.context("bind")?;
    eprintln!("ideal listening on {}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let batcher = batcher.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(batcher.clone(), request));
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(
    batcher: Arc<Batcher>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => return Ok(answer(StatusCode::BAD_REQUEST, "unreadable body")),
    };
    let Ok(text) = String::from_utf8(body.to_vec()) else {
        return Ok(answer(StatusCode::BAD_REQUEST, "not UTF-8"));
    };
    match batcher.commit(text).await {
        Ok(id) => Ok(answer(
            StatusCode::OK,
            &format!(r#"{{"message":"Workflow execution created","id":"{id}"}}"#),
        )),
        Err(_) => Ok(answer(StatusCode::SERVICE_UNAVAILABLE, "unavailable")),
    }
}

fn answer(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_owned())));
    *response.status_mut() = status;
    response
}
