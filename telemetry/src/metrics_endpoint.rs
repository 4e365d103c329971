//! The admin HTTP port: `GET /metrics` in the Prometheus text format, rendered fresh
//! for every scrape. Nothing else is served there, so it can be exposed to the
//! monitoring system without exposing webhooks.

use std::{convert::Infallible, future::Future, sync::Arc};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::{conn::auto, graceful::GracefulShutdown},
};
use tokio::net::TcpListener;

/// The OpenMetrics text format, which Prometheus reads; its counters end in `_total`.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Produces the text of one scrape.
pub type Render = Arc<dyn Fn() -> String + Send + Sync>;

/// Serves `render` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    render: Render,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let address = listener.local_addr()?;
    tracing::info!(%address, "metrics listening");
    let builder = auto::Builder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    tracing::debug!(%error, "cannot accept a metrics connection");
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let render = Arc::clone(&render);
        let service = service_fn(move |request: Request<hyper::body::Incoming>| {
            let render = Arc::clone(&render);
            async move { Ok::<_, Infallible>(answer(&request, &render)) }
        });
        let connection = graceful.watch(
            builder
                .serve_connection(TokioIo::new(stream), service)
                .into_owned(),
        );
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
    graceful.shutdown().await;
    Ok(())
}

fn answer<B>(request: &Request<B>, render: &Render) -> Response<Full<Bytes>> {
    let (status, content_type, body) = match (request.method(), request.uri().path()) {
        (&Method::GET, "/metrics") => (StatusCode::OK, CONTENT_TYPE, render()),
        (_, "/metrics") => (
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            String::from("GET only\n"),
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain",
            String::from("not found\n"),
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    response
}
