use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::Args;

use super::{IngressLimitArgs, TrustedProxies, read_token};

/// The ingress's flags, shared by `sluice ingress` and `sluice dev`.
#[derive(Args, Debug)]
pub struct IngressArgs {
    /// Address the HTTP server listens on (port 0 picks a free one).
    #[arg(
        long,
        env = "SLUICE_HTTP_ADDR",
        value_name = "ADDR",
        default_value = "127.0.0.1:8080"
    )]
    pub http: SocketAddr,

    /// A prefix accepted in front of `/webhooks/…`, e.g. `/api`.
    #[arg(
        long,
        env = "SLUICE_PATH_PREFIX",
        value_name = "PREFIX",
        default_value = "",
        value_parser = parse_path_prefix
    )]
    pub path_prefix: String,

    /// Peers whose X-Forwarded-For is believed, as a comma-separated list of addresses
    /// or CIDRs.
    #[arg(
        long,
        env = "SLUICE_TRUSTED_PROXIES",
        value_name = "CIDR,...",
        value_parser = TrustedProxies::parse
    )]
    pub trusted_proxies: Option<TrustedProxies>,

    /// Largest accepted request body, both as received and once decompressed.
    #[arg(
        long,
        env = "SLUICE_MAX_BODY_BYTES",
        value_name = "N",
        default_value_t = sluice_ingress::Config::default().max_body_bytes
    )]
    pub max_body_bytes: usize,

    /// Largest number of lines in one NDJSON request.
    #[arg(
        long,
        env = "SLUICE_MAX_NDJSON_LINES",
        value_name = "N",
        default_value_t = sluice_ingress::Config::default().max_ndjson_lines
    )]
    pub max_ndjson_lines: usize,

    /// How long one call to the control plane may take before the sender gets a 503.
    #[arg(
        long,
        env = "SLUICE_CONTROL_TIMEOUT",
        value_name = "DURATION",
        default_value = "10s",
        value_parser = humantime::parse_duration
    )]
    pub control_timeout: Duration,
    /// A file holding the token presented to the control plane [default: the
    /// SLUICE_CONTROL_TOKEN variable]
    #[arg(long, env = "SLUICE_CONTROL_TOKEN_FILE", value_name = "FILE")]
    pub control_token_file: Option<PathBuf>,
    #[command(flatten)]
    pub limits: IngressLimitArgs,
}

impl IngressArgs {
    pub fn to_config(&self, control_url: String) -> anyhow::Result<sluice_ingress::Config> {
        let control_token = match &self.control_token_file {
            Some(path) => Some(read_token(path)?),
            None => std::env::var("SLUICE_CONTROL_TOKEN")
                .ok()
                .map(|token| token.trim().to_owned())
                .filter(|token| !token.is_empty()),
        };
        Ok(sluice_ingress::Config {
            control_url,
            path_prefix: self.path_prefix.clone(),
            trusted_proxies: self
                .trusted_proxies
                .clone()
                .map(|proxies| proxies.0)
                .unwrap_or_default(),
            max_body_bytes: self.max_body_bytes,
            max_ndjson_lines: self.max_ndjson_lines,
            control_timeout: self.control_timeout,
            control_token: control_token.map(sluice_ingress::ControlToken::new),
            rate_limit: self.limits.rate_limit()?,
            max_in_flight: self.limits.max_in_flight,
            connection_limits: self.limits.connection_limits(),
            body_read_timeout: self.limits.body_read_timeout,
            ..sluice_ingress::Config::default()
        })
    }
}

/// Accepts an empty prefix or one starting with `/`; a trailing `/` is dropped so that
/// `/api/` and `/api` mean the same.
fn parse_path_prefix(text: &str) -> Result<String, String> {
    let prefix = text.trim_end_matches('/');
    if prefix.is_empty() || prefix.starts_with('/') {
        Ok(prefix.to_owned())
    } else {
        Err(format!("a path prefix starts with '/', e.g. /{prefix}"))
    }
}
