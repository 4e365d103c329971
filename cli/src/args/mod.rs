//! The command tree. Every flag that configures a server has a `SLUICE_…` environment
//! fallback so that container deployments can configure it without a command line.

mod admin;
mod auth;
mod control;
mod ingress;
mod limits;
mod lists;
mod tls;

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use admin::{
    AdminCommand, ApiKeyCommand, AuditCommand, ExecutionsCommand, WebhookCommand,
    WebhookUpdateArgs, WorkflowCommand,
};
pub use auth::{ControlAuthArgs, read_token};
pub use control::ControlArgs;
pub use ingress::IngressArgs;
pub use limits::IngressLimitArgs;
pub use lists::{CommaList, TrustedProxies};
pub use tls::{ControlClientTlsArgs, ControlTlsArgs};

/// The control plane address admin commands use when nothing else names one.
/// Where `sluice dev` keeps its state unless told otherwise, relative to the working
/// directory; the admin commands find its tokens there.
pub const DEFAULT_DATA_DIR: &str = ".sluice";

pub const DEFAULT_CONTROL_URL: &str = "http://127.0.0.1:50051";

#[derive(Parser, Debug)]
#[command(
    name = "sluice",
    version,
    about = "Webhook ingress for workflow automation"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags that may stand anywhere on the command line.
#[derive(Args, Debug)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// The control plane's gRPC URL [default: the address of a `sluice dev` running in
    /// --data-dir, else http://127.0.0.1:50051]
    #[arg(long, global = true, env = "SLUICE_CONTROL_URL", value_name = "URL")]
    pub control: Option<String>,

    /// A file holding the admin token for admin commands [default: the SLUICE_TOKEN
    /// variable, else the token of a `sluice dev` in --data-dir]
    #[arg(long, global = true, env = "SLUICE_TOKEN_FILE", value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    #[command(flatten)]
    pub control_tls: ControlClientTlsArgs,
    /// Print exactly one JSON value on stdout.
    #[arg(long, global = true)]
    pub json: bool,

    /// Where `sluice dev` keeps its database cluster and state.
    #[arg(
        long,
        global = true,
        env = "SLUICE_DATA_DIR",
        value_name = "DIR",
        default_value = DEFAULT_DATA_DIR
    )]
    pub data_dir: PathBuf,

    /// Log filter in `tracing` syntax, e.g. `info` or `sluice_ingress=debug` [default: the
    /// value of RUST_LOG, else info]
    #[arg(long, global = true, env = "SLUICE_LOG", value_name = "FILTER")]
    pub log: Option<String>,

    /// How log lines are written to stderr.
    #[arg(
        long,
        global = true,
        env = "SLUICE_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Text
    )]
    pub log_format: LogFormat,

    /// Serve Prometheus metrics on this address at /metrics, e.g. 127.0.0.1:9090 [default:
    /// no metrics endpoint]
    #[arg(long, global = true, env = "SLUICE_METRICS_ADDR", value_name = "ADDR")]
    pub metrics_addr: Option<SocketAddr>,

    /// How long requests in flight may take to finish after SIGTERM before the server
    /// stops anyway.
    #[arg(
        long,
        global = true,
        env = "SLUICE_DRAIN_TIMEOUT",
        value_name = "DURATION",
        default_value = "30s",
        value_parser = humantime::parse_duration
    )]
    pub drain_timeout: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

// Parsed once per process, so the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the whole system on this machine: a private PostgreSQL cluster, the control
    /// plane, the ingress and a demo webhook.
    Dev(DevArgs),
    /// Run the control plane (gRPC).
    Control(ControlArgs),
    /// Run the ingress (HTTP) against the control plane named by --control.
    Ingress(IngressArgs),
    /// Apply the database migrations that have not run yet.
    Migrate(MigrateArgs),
    #[command(flatten)]
    Admin(AdminCommand),
}

#[derive(Args, Debug)]
pub struct DevArgs {
    #[command(flatten)]
    pub ingress: IngressArgs,

    #[command(flatten)]
    pub control: ControlArgs,
}

#[derive(Args, Debug)]
pub struct MigrateArgs {
    /// PostgreSQL connection string.
    #[arg(
        long,
        env = "SLUICE_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: String,
}

#[cfg(test)]
mod tests;
