//! Accepting connections and serving HTTP/1.1 and HTTP/2 (h2c) on them until shutdown.

use std::{convert::Infallible, future::Future, sync::Arc, time::Duration};

use tokio::sync::Semaphore;

use hyper::service::service_fn;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
};
use tokio::net::TcpListener;
use tracing::Instrument;

use crate::service::Ingress;

/// Pause after a failed accept (for example when out of file descriptors), so the loop
/// does not spin while the condition lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves until `shutdown` completes, then stops accepting and waits for the requests
/// in flight to finish.
pub async fn serve(
    listener: TcpListener,
    ingress: Arc<Ingress>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let local = listener.local_addr()?;
    tracing::info!(address = %local, "ingress listening");

    let limits = ingress.connection_limits;
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_headers(limits.max_headers)
        .max_buf_size(limits.max_header_bytes.max(8192));
    builder
        .http2()
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX));
    let connections = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);

    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            // TODO: a connection whose request has not been read yet when shutdown begins
            // (still in the accept queue, or accepted but idle) is closed unanswered; in
            // Kubernetes the preStop pause keeps new connections away by then.
            () = &mut shutdown => break,
        };
        // Beyond the connection limit a connection is closed at once: holding it open
        // unanswered would cost as much as serving it.
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            tracing::debug!(client.addr = %peer, "connection limit reached; closing");
            drop(stream);
            continue;
        };
        // Answers are small and sent at once; waiting to coalesce them only adds latency.
        let _ = stream.set_nodelay(true);

        let handler = Arc::clone(&ingress);
        let service = service_fn(move |request| {
            let handler = Arc::clone(&handler);
            async move { Ok::<_, Infallible>(handler.handle(request, peer).await) }
        });
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        let span = tracing::info_span!("connection", client.addr = %peer, server.addr = %local);
        tokio::spawn(
            async move {
                if let Err(error) = connection.await {
                    tracing::debug!(error = %error, "connection ended with an error");
                }
                drop(permit);
            }
            .instrument(span),
        );
    }

    drop(listener);
    tracing::info!("ingress draining requests in flight");
    let drain_timeout = ingress.settings.drain_timeout;
    if tokio::time::timeout(drain_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            timeout = ?drain_timeout,
            "requests still running at the drain timeout; abandoning them"
        );
    }
    tracing::info!("ingress stopped");
    Ok(())
}
