//! The ingress's abuse limits. Each has a default that an ordinary deployment never
//! meets; the per-webhook rate limit is off unless asked for, because a fair rate
//! depends on the senders.

use std::{num::NonZeroU32, time::Duration};

use anyhow::bail;
use clap::Args;
use sluice_ingress::{ConnectionLimits, RateLimit};

#[derive(Args, Debug)]
pub struct IngressLimitArgs {
    /// Requests per second each webhook accepts on average; beyond it senders get 429
    /// with Retry-After [default: unlimited]
    #[arg(long, env = "SLUICE_WEBHOOK_RATE_LIMIT", value_name = "PER_SECOND")]
    pub webhook_rate_limit: Option<f64>,
    /// Requests a webhook accepts at once before the rate limit applies [default: twice
    /// the rate, at least 1]
    #[arg(long, env = "SLUICE_WEBHOOK_BURST", value_name = "N")]
    pub webhook_burst: Option<NonZeroU32>,
    /// Requests answered at once at most; beyond it requests are shed with 503.
    #[arg(
        long,
        env = "SLUICE_MAX_IN_FLIGHT",
        value_name = "N",
        default_value_t = 10_000
    )]
    pub max_in_flight: usize,
    /// Open connections at most; further ones are closed at once.
    #[arg(long, env = "SLUICE_MAX_CONNECTIONS", value_name = "N",
          default_value_t = ConnectionLimits::default().max_connections)]
    pub max_connections: usize,
    /// Header fields per request at most; more is answered 431.
    #[arg(long, env = "SLUICE_MAX_HEADERS", value_name = "N",
          default_value_t = ConnectionLimits::default().max_headers)]
    pub max_headers: usize,
    /// Bytes of a request head at most (at least 8192); more is answered 431.
    #[arg(long, env = "SLUICE_MAX_HEADER_BYTES", value_name = "N",
          default_value_t = ConnectionLimits::default().max_header_bytes)]
    pub max_header_bytes: usize,
    /// A client that has not sent its request head by then is disconnected (slow
    /// senders, idle kept-alive connections).
    #[arg(long, env = "SLUICE_HEADER_READ_TIMEOUT", value_name = "DURATION",
          default_value = "30s", value_parser = humantime::parse_duration)]
    pub header_read_timeout: Duration,
    /// A request body that has not fully arrived by then is answered 408 and its
    /// connection closed.
    #[arg(long, env = "SLUICE_BODY_READ_TIMEOUT", value_name = "DURATION",
          default_value = "60s", value_parser = humantime::parse_duration)]
    pub body_read_timeout: Duration,
}

impl IngressLimitArgs {
    pub fn rate_limit(&self) -> anyhow::Result<Option<RateLimit>> {
        let Some(per_second) = self.webhook_rate_limit else {
            return Ok(None);
        };
        if !(per_second.is_finite() && per_second > 0.0) {
            bail!("--webhook-rate-limit must be a positive number of requests per second");
        }
        let burst = self.webhook_burst.unwrap_or_else(|| {
            NonZeroU32::new((per_second * 2.0).ceil().min(f64::from(u32::MAX)) as u32)
                .unwrap_or(NonZeroU32::MIN)
        });
        Ok(Some(RateLimit { per_second, burst }))
    }

    pub fn connection_limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            max_connections: self.max_connections,
            max_headers: self.max_headers,
            max_header_bytes: self.max_header_bytes,
            header_read_timeout: self.header_read_timeout,
        }
    }
}
