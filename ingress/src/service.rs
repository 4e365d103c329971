//! The ingress as a request handler: its shared state and the span of each request.

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::Bytes;
use http::{Request, Response};
use ipnet::IpNet;
use tracing::{Instrument, field::Empty};

use crate::{
    cache::ConfigCache,
    checks,
    control::ControlClient,
    health::{self, Draining},
    limits::{ConnectionLimits, InFlight, RateLimiter},
    metrics::Metrics,
    response::ResponseBody,
};

/// What the checks need to know about the deployment.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Normalised: empty, or a leading `/` and no trailing `/`.
    pub path_prefix: String,
    pub trusted_proxies: Vec<IpNet>,
    pub max_body_bytes: usize,
    pub max_ndjson_lines: usize,
    /// How long a request body may take to arrive.
    pub body_read_timeout: Duration,
    /// How long requests in flight may take to finish once shutdown begins.
    pub drain_timeout: Duration,
}

/// Everything a request handler shares with the others.
pub struct Ingress {
    pub settings: Settings,
    pub control: ControlClient,
    pub cache: Arc<ConfigCache>,
    pub metrics: Metrics,
    pub draining: Arc<Draining>,
    /// `None` when webhooks are not rate limited.
    pub rate: Option<RateLimiter>,
    pub in_flight: InFlight,
    pub connection_limits: ConnectionLimits,
}

impl Ingress {
    /// Answers one request inside its own span. The span carries the workflow id and
    /// the outcome, and the path only with its secret redacted.
    pub async fn handle<B>(&self, request: Request<B>, peer: SocketAddr) -> Response<ResponseBody>
    where
        B: hyper::body::Body<Data = Bytes>,
    {
        // Probes are frequent and tell nothing about webhooks: no span, no metric.
        if let Some(answer) = health::answer(
            request.method(),
            request.uri().path(),
            &self.cache,
            &self.draining,
        ) {
            return answer;
        }

        let started = Instant::now();
        let span = tracing::info_span!(
            "request",
            method = %request.method(),
            path = Empty,
            workflow = Empty,
            wf_exec_id = Empty,
            status = Empty,
            outcome = Empty,
        );
        async move {
            // Shed at once when too much is in flight: queueing would only make every
            // sender wait longer, and the sender retries on 503.
            let permit = self.in_flight.try_enter();
            let processed = match permit {
                Some(_) => checks::process(self, request, peer).await,
                None => Err(crate::response::Reject::Overloaded),
            };
            drop(permit);
            let (outcome, response) = match processed {
                Ok(answer) => (answer.outcome(), answer.into_response()),
                Err(reject) => (reject.outcome(), reject.into_response()),
            };
            let span = tracing::Span::current();
            span.record("status", response.status().as_u16());
            span.record("outcome", outcome);
            self.metrics
                .request(response.status(), outcome, started.elapsed());
            tracing::debug!("answered");
            response
        }
        .instrument(span)
        .await
    }
}
