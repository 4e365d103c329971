//! `sluice control`, `sluice ingress` and `sluice migrate`: one service each, stopped by
//! SIGINT or SIGTERM.

use std::net::SocketAddr;

use anyhow::Context;
use tokio::net::TcpListener;
use tracing::info;

use crate::{
    args::{ControlArgs, IngressArgs},
    shutdown::Signals,
};

pub async fn control(args: ControlArgs) -> anyhow::Result<()> {
    let config = args.to_config()?;
    let mut signals = Signals::install()?;
    let listener = bind(args.grpc).await?;
    println!("listening on {}", listener.local_addr()?);

    sluice_control::run(config, listener, async move {
        let signal = signals.recv().await;
        info!(signal, "shutting down");
    })
    .await
}

pub async fn ingress(args: IngressArgs, control_url: String) -> anyhow::Result<()> {
    let config = args.to_config(control_url);
    let mut signals = Signals::install()?;
    let listener = bind(args.http).await?;
    println!("listening on {}", listener.local_addr()?);

    sluice_ingress::run(config, listener, async move {
        let signal = signals.recv().await;
        info!(signal, "shutting down");
    })
    .await
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
