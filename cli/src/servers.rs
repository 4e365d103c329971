//! `sluice control`, `sluice ingress` and `sluice migrate`: one service each, stopped by
//! SIGINT or SIGTERM.

use std::{future::Future, net::SocketAddr, pin::Pin, sync::Arc, time::Duration};

use anyhow::Context;
use sluice_telemetry::metrics_endpoint::{self, Render};
use tokio::{net::TcpListener, task::JoinHandle};
use tracing::{info, warn};

use crate::{
    args::{ControlArgs, GlobalArgs, IngressArgs},
    shutdown::{Signals, Trigger},
};

/// How a server is watched and stopped, whichever it is.
#[derive(Clone, Copy, Debug)]
pub struct Operations {
    pub metrics_addr: Option<SocketAddr>,
    pub drain_timeout: Duration,
}

impl From<&GlobalArgs> for Operations {
    fn from(global: &GlobalArgs) -> Self {
        Self {
            metrics_addr: global.metrics_addr,
            drain_timeout: global.drain_timeout,
        }
    }
}

pub async fn control(args: ControlArgs, operations: Operations) -> anyhow::Result<()> {
    let mut config = args.to_config()?;
    if let Some(tls) = &config.tls {
        tls.check()?;
    }
    config.drain_timeout = operations.drain_timeout;
    let render = {
        let metrics = config.metrics.clone();
        Arc::new(move || metrics.render()) as Render
    };
    serve(args.grpc, operations, render, |listener, shutdown| {
        sluice_control::run(config, listener, shutdown)
    })
    .await
}

pub async fn ingress(
    args: IngressArgs,
    control_url: String,
    control_tls: Option<sluice_ingress::ControlTls>,
    operations: Operations,
) -> anyhow::Result<()> {
    let mut config = args.to_config(control_url)?;
    config.control_tls = control_tls;
    config.drain_timeout = operations.drain_timeout;
    let render = {
        let metrics = config.metrics.clone();
        Arc::new(move || metrics.render()) as Render
    };
    serve(args.http, operations, render, |listener, shutdown| {
        sluice_ingress::run(config, listener, shutdown)
    })
    .await
}

/// Binds the service's and the metrics' listeners, runs the service until SIGINT or
/// SIGTERM, and stops the metrics endpoint after it.
async fn serve<F, Fut>(
    addr: SocketAddr,
    operations: Operations,
    render: Render,
    run: F,
) -> anyhow::Result<()>
where
    F: FnOnce(TcpListener, Pin<Box<dyn Future<Output = ()> + Send>>) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let mut signals = Signals::install()?;
    let listener = bind(addr).await?;
    let metrics = bind_metrics(operations).await?;
    println!("listening on {}", listener.local_addr()?);

    let shutdown = Trigger::new();
    let endpoint = serve_metrics(metrics, render, &shutdown);
    let served = run(
        listener,
        Box::pin(async move {
            let signal = signals.recv().await;
            info!(signal, "shutting down");
        }),
    )
    .await;
    shutdown.fire();
    finish(endpoint).await;
    served
}

/// The metrics listener, when one is asked for; bound at startup so that a port in use
/// is reported at once.
pub async fn bind_metrics(operations: Operations) -> anyhow::Result<Option<TcpListener>> {
    match operations.metrics_addr {
        Some(addr) => Ok(Some(bind(addr).await?)),
        None => Ok(None),
    }
}

/// Serves the metrics endpoint until `shutdown` fires.
pub fn serve_metrics(
    listener: Option<TcpListener>,
    render: Render,
    shutdown: &Trigger,
) -> Option<JoinHandle<anyhow::Result<()>>> {
    let listener = listener?;
    Some(tokio::spawn(metrics_endpoint::serve(
        listener,
        render,
        shutdown.wait(),
    )))
}

/// Waits for the metrics endpoint to stop, logging a failure: it never decides the
/// outcome of the service it reports on.
pub async fn finish(endpoint: Option<JoinHandle<anyhow::Result<()>>>) {
    if let Some(endpoint) = endpoint {
        match endpoint.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => warn!(error = %format!("{error:#}"), "the metrics endpoint failed"),
            Err(error) => warn!(%error, "the metrics endpoint task failed"),
        }
    }
}

pub async fn migrate(database_url: &str) -> anyhow::Result<()> {
    sluice_control::migrate(database_url)
        .await
        .context("migrate the database")?;
    println!("the database is up to date");
    Ok(())
}

pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("listen on {addr}"))
}
