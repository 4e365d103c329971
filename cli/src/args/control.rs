use std::net::SocketAddr;

use anyhow::{Context, bail};
use clap::Args;

use super::{ControlAuthArgs, ControlTlsArgs};

/// The control plane's flags, shared by `sluice control` and `sluice dev`.
#[derive(Args, Debug)]
pub struct ControlArgs {
    /// Address the gRPC server listens on (port 0 picks a free one).
    #[arg(
        long,
        env = "SLUICE_GRPC_ADDR",
        value_name = "ADDR",
        default_value = "127.0.0.1:50051"
    )]
    pub grpc: SocketAddr,

    /// PostgreSQL connection string (required by `control`; `dev` runs its own cluster
    /// without it).
    #[arg(
        long,
        env = "SLUICE_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,

    /// The secret every webhook URL secret is derived from (required by `control`;
    /// `dev` generates one into its data dir without it).
    #[arg(
        long,
        env = "SLUICE_SIGNING_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub signing_secret: Option<String>,

    /// The base URL senders reach the ingress at, path prefix included [default for
    /// `control`: http://127.0.0.1:8080; `dev` derives it from --http and --path-prefix]
    #[arg(long, env = "SLUICE_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,

    /// Largest number of pooled database connections.
    #[arg(long, env = "SLUICE_POOL_SIZE", value_name = "N", default_value_t = 16)]
    pub pool_size: usize,

    /// Tasks writing executions; concurrent requests are grouped into one transaction
    /// per writer and batch.
    #[arg(long, env = "SLUICE_WRITERS", value_name = "N", default_value_t = sluice_control::DEFAULT_WRITERS)]
    pub writers: usize,

    /// Delete executions older than this (`30d`, `12h`); unset keeps them forever.
    #[arg(long, env = "SLUICE_RETENTION", value_name = "AGE", value_parser = humantime::parse_duration)]
    pub retention: Option<std::time::Duration>,
    #[command(flatten)]
    pub auth: ControlAuthArgs,
    #[command(flatten)]
    pub tls: ControlTlsArgs,
}

impl ControlArgs {
    /// The configuration of a standalone control plane, which must be told where its
    /// database is and what its signing secret is.
    pub fn to_config(&self) -> anyhow::Result<sluice_control::Config> {
        let database_url = self
            .database_url
            .clone()
            .context("missing --database-url (or SLUICE_DATABASE_URL)")?;
        let signing_secret = self
            .signing_secret
            .clone()
            .context("missing --signing-secret (or SLUICE_SIGNING_SECRET)")?;
        if signing_secret.is_empty() {
            bail!("the signing secret must not be empty");
        }
        let public_url = self
            .public_url
            .clone()
            .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());
        Ok(sluice_control::Config {
            database_url,
            signing_secret,
            public_url: public_url.trim_end_matches('/').to_owned(),
            pool_size: self.pool_size,
            writers: self.writers,
            retention: self.retention,
            authentication: self.auth.authentication()?,
            drain_timeout: sluice_control::DEFAULT_DRAIN_TIMEOUT,
            metrics: sluice_control::Metrics::default(),
            tls: self.tls.tls_config()?,
        })
    }
}
