//! The ingress's metrics, rendered in the Prometheus text format by the metrics
//! endpoint. Labels are bounded: a status class, the outcome of the checks (one value
//! per kind of answer) and a cache result; never a workflow id, a path or a secret.

use std::{fmt, sync::Arc, time::Duration};

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{
        counter::Counter,
        family::Family,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

/// Cheap to clone; every clone counts into the same registry.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_duration: Family<OutcomeLabels, Histogram>,
    cache_lookups: Family<CacheLabels, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    status_class: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    result: &'static str,
}

/// How a webhook configuration was found.
#[derive(Clone, Copy, Debug)]
pub enum CacheLookup {
    /// Served from the cache, including a cached "no such webhook".
    Hit,
    /// Fetched from the control plane.
    Miss,
}

fn latency_histogram() -> Histogram {
    // From 1 ms to about 16 s, doubling.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "sluice_ingress_requests",
            "HTTP requests answered, by status class and outcome (the check that refused \
             the request, or the kind of success)",
            requests.clone(),
        );
        let request_duration = Family::<OutcomeLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> _,
        );
        registry.register(
            "sluice_ingress_request_duration_seconds",
            "Time from a request's headers to its answer, by outcome; `created` is the \
             accept path, commit included",
            request_duration.clone(),
        );
        let cache_lookups = Family::<CacheLabels, Counter>::default();
        registry.register(
            "sluice_ingress_config_cache_lookups",
            "Webhook configuration lookups, by whether the cache answered",
            cache_lookups.clone(),
        );
        Self {
            inner: Arc::new(Inner {
                registry,
                requests,
                request_duration,
                cache_lookups,
            }),
        }
    }
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// The text of one scrape.
    pub fn render(&self) -> String {
        let mut text = String::new();
        if encode(&mut text, &self.inner.registry).is_err() {
            tracing::error!("cannot render the metrics");
        }
        text
    }

    pub(crate) fn request(&self, status: http::StatusCode, outcome: &'static str, took: Duration) {
        let status_class = match status.as_u16() {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        self.inner
            .requests
            .get_or_create(&RequestLabels {
                status_class,
                outcome,
            })
            .inc();
        self.inner
            .request_duration
            .get_or_create(&OutcomeLabels { outcome })
            .observe(took.as_secs_f64());
    }

    pub(crate) fn cache_lookup(&self, lookup: CacheLookup) {
        let result = match lookup {
            CacheLookup::Hit => "hit",
            CacheLookup::Miss => "miss",
        };
        self.inner
            .cache_lookups
            .get_or_create(&CacheLabels { result })
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_status_class_and_outcome() {
        let metrics = Metrics::default();
        metrics.request(http::StatusCode::OK, "created", Duration::from_millis(3));
        metrics.request(http::StatusCode::OK, "created", Duration::from_millis(5));
        metrics.request(
            http::StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            Duration::from_secs(1),
        );
        metrics.cache_lookup(CacheLookup::Miss);

        let text = metrics.render();
        for line in [
            r#"sluice_ingress_requests_total{status_class="2xx",outcome="created"} 2"#,
            r#"sluice_ingress_requests_total{status_class="5xx",outcome="unavailable"} 1"#,
            r#"sluice_ingress_request_duration_seconds_count{outcome="created"} 2"#,
            r#"sluice_ingress_request_duration_seconds_bucket{le="0.004",outcome="created"} 1"#,
            r#"sluice_ingress_config_cache_lookups_total{result="miss"} 1"#,
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
        assert!(text.ends_with("# EOF\n"));
    }
}
