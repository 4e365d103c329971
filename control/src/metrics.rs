//! The control plane's metrics, rendered in the Prometheus text format by the metrics
//! endpoint. Labels are bounded: gRPC method paths of the served services and status
//! code names, never a workflow id or anything a caller chose.

use std::{fmt, sync::Arc, time::Duration};

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
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
    grpc_calls: Family<CallLabels, Counter>,
    grpc_call_duration: Family<MethodLabels, Histogram>,
    executions_created: Counter,
    commit_duration: Histogram,
    commit_batch_size: Histogram,
    database_up: Gauge,
    pool_connections: Family<PoolLabels, Gauge>,
    pool_max: Gauge,
    pool_waiting: Gauge,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    method: String,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

/// From 1 ms to about 16 s, doubling.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let grpc_calls = Family::<CallLabels, Counter>::default();
        registry.register(
            "sluice_control_grpc_calls",
            "gRPC calls answered, by method and status code",
            grpc_calls.clone(),
        );
        let grpc_call_duration =
            Family::<MethodLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> _);
        registry.register(
            "sluice_control_grpc_call_duration_seconds",
            "Time from a gRPC call's arrival to its response headers, by method",
            grpc_call_duration.clone(),
        );
        let executions_created = Counter::default();
        registry.register(
            "sluice_control_executions_created",
            "Executions committed to the database",
            executions_created.clone(),
        );
        let commit_duration = latency_histogram();
        registry.register(
            "sluice_control_database_commit_duration_seconds",
            "Time to commit the executions of one request, queueing included",
            commit_duration.clone(),
        );
        let commit_batch_size = Histogram::new(exponential_buckets(1.0, 2.0, 12));
        registry.register(
            "sluice_control_commit_batch_size",
            "Requests whose executions were written in one database transaction",
            commit_batch_size.clone(),
        );
        let database_up = Gauge::default();
        registry.register(
            "sluice_control_database_up",
            "1 while the database answers the health check, else 0",
            database_up.clone(),
        );
        let pool_connections = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "sluice_control_database_pool_connections",
            "Open pooled database connections, by whether a call holds them",
            pool_connections.clone(),
        );
        let pool_max = Gauge::default();
        registry.register(
            "sluice_control_database_pool_max_connections",
            "The most database connections the pool opens",
            pool_max.clone(),
        );
        let pool_waiting = Gauge::default();
        registry.register(
            "sluice_control_database_pool_waiting",
            "Calls waiting for a pooled database connection",
            pool_waiting.clone(),
        );
        Self {
            inner: Arc::new(Inner {
                registry,
                grpc_calls,
                grpc_call_duration,
                executions_created,
                commit_duration,
                commit_batch_size,
                database_up,
                pool_connections,
                pool_max,
                pool_waiting,
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

    pub(crate) fn grpc_call(&self, method: &str, code: &str, duration: Duration) {
        self.inner
            .grpc_calls
            .get_or_create(&CallLabels {
                method: method.to_owned(),
                code: code.to_owned(),
            })
            .inc();
        self.inner
            .grpc_call_duration
            .get_or_create(&MethodLabels {
                method: method.to_owned(),
            })
            .observe(duration.as_secs_f64());
    }

    pub(crate) fn executions_committed(&self, count: usize, duration: Duration) {
        self.inner.executions_created.inc_by(count as u64);
        self.inner.commit_duration.observe(duration.as_secs_f64());
    }

    /// Records one database transaction that wrote the executions of `requests`
    /// requests together.
    pub fn commit_batch(&self, requests: usize) {
        self.inner.commit_batch_size.observe(requests as f64);
    }

    pub(crate) fn database_up(&self, up: bool) {
        self.inner.database_up.set(i64::from(up));
    }

    pub(crate) fn pool(&self, status: deadpool_postgres::Status) {
        let in_use = status.size.saturating_sub(status.available);
        let connections = &self.inner.pool_connections;
        connections
            .get_or_create(&PoolLabels { state: "idle" })
            .set(to_gauge(status.available));
        connections
            .get_or_create(&PoolLabels { state: "in_use" })
            .set(to_gauge(in_use));
        self.inner.pool_max.set(to_gauge(status.max_size));
        self.inner.pool_waiting.set(to_gauge(status.waiting));
    }
}

fn to_gauge(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
