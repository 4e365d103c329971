//! The Sluice ingress: the HTTP server webhook senders talk to.
//!
//! A request to `/webhooks/{workflow_id}/{secret}` goes through a fixed order of checks
//! ([`checks`]) against the webhook's configuration, which comes from the control plane
//! and is cached while the control plane's watch stream is connected ([`cache`]). An
//! accepted request's body becomes one TRIGGER per execution ([`trigger`]), and the
//! executions are committed by the control plane before the sender hears 200. The
//! ingress holds no durable state and never talks to the database.

mod batching;
mod body;
mod cache;
mod checks;
mod client_ip;
mod commit;
mod control;
mod control_tls;
mod credential;
mod dedup_key;
mod envelope;
#[doc(hidden)]
pub mod fuzzing;
mod handshake;
mod health;
mod limits;
mod metrics;
mod query;
mod response;
mod route;
mod server;
mod service;
mod trigger;
mod webhook;

use std::{future::Future, sync::Arc, time::Duration};

use ipnet::IpNet;
use tokio::net::TcpListener;

pub use crate::{
    control_tls::{ControlTls, secure as secure_control_endpoint},
    credential::ControlToken,
    limits::{ConnectionLimits, RateLimit},
    metrics::Metrics,
};

use crate::{
    cache::ConfigCache,
    control::ControlClient,
    service::{Ingress, Settings},
};

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
    /// The bearer token presented to the control plane.
    pub control_token: Option<ControlToken>,
    /// TLS towards the control plane, needed when `control_url` is `https://`.
    pub control_tls: Option<ControlTls>,
    /// Requests each webhook may receive; `None` leaves them unlimited.
    pub rate_limit: Option<RateLimit>,
    /// Requests answered at once at most; beyond it requests are shed with 503.
    pub max_in_flight: usize,
    pub connection_limits: ConnectionLimits,
    /// How long a request body may take to arrive; a slower sender gets 408.
    pub body_read_timeout: Duration,
    /// How long requests in flight may take to finish once shutdown begins.
    pub drain_timeout: Duration,
    /// Where the ingress counts; render it to serve it.
    pub metrics: Metrics,
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
            control_token: None,
            control_tls: None,
            rate_limit: None,
            max_in_flight: 10_000,
            connection_limits: ConnectionLimits::default(),
            body_read_timeout: Duration::from_secs(60),
            drain_timeout: Duration::from_secs(30),
            metrics: Metrics::default(),
        }
    }
}

/// Serves HTTP on `listener` until `shutdown` completes, then drains.
///
/// Starts even when the control plane is unreachable: requests are answered 503 with
/// `Retry-After` until it is back.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let control = ControlClient::connect_lazy(
        &config.control_url,
        config.control_timeout,
        config.control_token.as_ref(),
        config.control_tls.as_ref(),
    )?;
    let cache = Arc::new(ConfigCache::new(cache::DEFAULT_CAPACITY));
    let watch = tokio::spawn(cache::watch(control.clone(), Arc::clone(&cache)));

    let ingress = Arc::new(Ingress {
        settings: Settings {
            path_prefix: route::normalise_prefix(&config.path_prefix),
            trusted_proxies: config.trusted_proxies,
            max_body_bytes: config.max_body_bytes,
            max_ndjson_lines: config.max_ndjson_lines,
            body_read_timeout: config.body_read_timeout,
            drain_timeout: config.drain_timeout,
        },
        control,
        cache,
        metrics: config.metrics,
        draining: Arc::default(),
        rate: config.rate_limit.map(limits::RateLimiter::new),
        in_flight: limits::InFlight::new(config.max_in_flight),
        connection_limits: config.connection_limits,
    });
    let draining = Arc::clone(&ingress.draining);
    let shutdown = async move {
        shutdown.await;
        draining.begin();
    };
    let served = server::serve(listener, ingress, shutdown).await;

    watch.abort();
    served
}
