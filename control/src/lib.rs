//! The Sluice control plane: the only writer of the database and the only place the
//! business rules about workflows, webhooks, API keys and executions live.
//!
//! [`run`] serves three gRPC services on a listener the caller bound: `IngressControl`
//! (webhook configuration, execution creation and a stream of webhook changes, for the
//! ingress), `Admin` (for people and internal services) and `Worker` (leasing and
//! completing executions), plus health and reflection. [`migrate`] brings the database
//! schema up to date.
//!
//! Where things are:
//! - `grpc`: the two services; they parse requests, open one span per call and turn
//!   failures into statuses (`error`), and hold no rules of their own.
//! - `workflows`, `webhooks`, `api_keys`, `executions`: the rules and the SQL, one
//!   concern each; `allowlist` and `methods` validate webhook settings, `url_secrets`
//!   derives webhook URLs and the digests the ingress checks them with.
//! - `watch`: change notifications from PostgreSQL to every watching ingress, and
//!   arrivals of new executions to waiting workers.
//! - `worker`: the execution queue (leases, completion, the lease stream).
//! - `group_commit`: the writer tasks that batch concurrent execution creations into
//!   shared transactions.
//! - `retention`: the background deletion of executions past their configured age.
//! - `key_use`: API key use times, batched to one write a second.
//! - `tls`: the listener's certificate and the authority client certificates need.
//! - `store`: the connection pool and the split between "database unavailable" and
//!   everything else; `migrations`: the numbered schema files.
//!
//! Nothing secret is stored: URL secrets are derived from the signing secret when
//! needed, and API keys are kept only as salted hashes.

mod allowlist;
mod api_keys;
mod audit;
mod auth;
mod call_telemetry;
mod database_health;
mod dedup;
mod drain;
mod error;
mod executions;
mod group_commit;
mod grpc;
mod key_use;
mod methods;
mod metrics;
mod migrations;
mod retention;
mod store;
mod tls;
mod url_secrets;
mod watch;
mod webhook_lock;
mod webhooks;
mod worker;
mod workflows;

use std::{fmt, future::Future, time::Duration};

use anyhow::Context;
use sluice_proto::v1::{
    admin_server::AdminServer, ingress_control_server::IngressControlServer,
    worker_server::WorkerServer,
};
use tokio::net::TcpListener;
use tonic::{
    server::NamedService,
    transport::{Server, server::TcpIncoming},
};

use crate::{
    group_commit::GroupCommit,
    grpc::{AdminService, IngressControlService, Shared},
    key_use::KeyUse,
    store::Store,
    url_secrets::UrlSecrets,
    watch::{Arrivals, Changes},
    worker::WorkerService,
};

pub use auth::{Authentication, Credential, Role};
pub use group_commit::DEFAULT_WRITERS;
pub use metrics::Metrics;
pub use migrations::migrate;
pub use tls::TlsConfig;

/// The longest a unary call may take when its caller sets no shorter deadline.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Pooled database connections when the configuration does not say.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// How long calls in flight may take to finish once shutdown begins, by default.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

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
    /// Largest number of pooled database connections (at least one is used).
    pub pool_size: usize,
    /// Tasks that write executions, each one batch (one transaction) at a time; each
    /// holds a pooled connection while it writes.
    pub writers: usize,
    /// Executions older than this are deleted in the background; `None` keeps them.
    pub retention: Option<Duration>,
    /// Who may call which service.
    pub authentication: Authentication,
    /// How long calls in flight may take to finish once shutdown begins.
    pub drain_timeout: Duration,
    /// Where the control plane counts; render it to serve it.
    pub metrics: Metrics,
    /// TLS on the gRPC listener; `None` serves plaintext.
    pub tls: Option<TlsConfig>,
}

impl fmt::Debug for Config {
    // Written by hand so that neither secret can reach a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &"<redacted>")
            .field("signing_secret", &"<redacted>")
            .field("public_url", &self.public_url)
            .field("pool_size", &self.pool_size)
            .field("writers", &self.writers)
            .field("retention", &self.retention)
            .field("authentication", &self.authentication)
            .field("drain_timeout", &self.drain_timeout)
            .field("tls", &self.tls)
            .finish()
    }
}

/// Serves the gRPC services on `listener` until `shutdown` completes, then drains.
///
/// The database is connected to lazily: the services start while it is down, answer
/// UNAVAILABLE until it is back, and recover by themselves.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    if matches!(&config.authentication, Authentication::Tokens(tokens) if tokens.is_empty()) {
        anyhow::bail!("no credentials are configured, so no caller could be served");
    }
    let tls = config.tls.as_ref().map(TlsConfig::load).transpose()?;
    let store = Store::connect_lazy(&config.database_url, config.pool_size)?;
    let listen_config: tokio_postgres::Config = config
        .database_url
        .parse()
        .context("parse the database URL")?;

    // Set once `shutdown` completes; background tasks and open watch streams end on
    // it, so that draining does not wait for streams that never finish.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let changes = Changes::new();
    let arrivals = Arrivals::new();
    let listener_task = watch::spawn_listener(
        listen_config,
        changes.clone(),
        arrivals.clone(),
        stopped.clone(),
    );
    let key_use = KeyUse::default();
    let flusher = key_use.spawn_flusher(store.clone(), stopped.clone());

    let (executions, writers) = GroupCommit::spawn(
        store.clone(),
        config.writers,
        config.metrics.clone(),
        arrivals.clone(),
    );
    // Stopped only after the last writer, so that its commits are announced too.
    let (stop_notifier, notifier_stopped) = tokio::sync::watch::channel(false);
    let notifier = arrivals.spawn_notifier(store.clone(), notifier_stopped);
    let retention = config
        .retention
        .map(|age| retention::spawn(store.clone(), age, stopped.clone()));

    let draining = stopped.clone();
    let shared = Shared {
        metrics: config.metrics.clone(),
        store,
        executions,
        urls: UrlSecrets::new(&config.signing_secret, &config.public_url),
        changes,
        key_use,
        shutdown: stopped,
    };

    let (health, health_service) = tonic_health::server::health_reporter();
    let database_health = database_health::spawn(
        shared.store.clone(),
        health,
        vec![
            <IngressControlServer<IngressControlService> as NamedService>::NAME,
            <AdminServer<AdminService> as NamedService>::NAME,
            <WorkerServer<WorkerService> as NamedService>::NAME,
        ],
        config.metrics.clone(),
        shared.shutdown.clone(),
    );
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(sluice_proto::FILE_DESCRIPTOR_SET)
        .build_v1()
        .context("build the reflection service")?;

    let address = listener
        .local_addr()
        .context("read the listening address")?;
    tracing::info!(%address, tls = tls.is_some(), "control plane listening");

    let signal = async {
        shutdown.await;
        tracing::info!("control plane shutting down");
        stop.send_replace(true);
    };
    let mut server = Server::builder();
    if let Some(tls) = tls {
        server = server
            .tls_config(tls)
            .context("configure TLS on the gRPC listener")?;
    }
    let serving = server
        // Bounds a call whose caller set no deadline, so that a stalled database
        // connection cannot hold a call (and a graceful shutdown) forever.
        .timeout(CALL_TIMEOUT)
        // Keeps idle watch streams alive through proxies and notices dead peers.
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .layer(call_telemetry::CallTelemetryLayer::new(
            config.metrics.clone(),
        ))
        .layer(auth::AuthLayer::new(&config.authentication))
        .add_service(health_service)
        .add_service(reflection)
        .add_service(
            IngressControlServer::new(IngressControlService::new(shared.clone()))
                .max_decoding_message_size(sluice_proto::MAX_CREATE_EXECUTION_BYTES),
        )
        .add_service(WorkerServer::new(WorkerService::new(
            shared.store.clone(),
            arrivals,
            shared.shutdown.clone(),
        )))
        .add_service(AdminServer::new(AdminService::new(shared)))
        .serve_with_incoming_shutdown(incoming(listener), signal);
    let served = drain::within(config.drain_timeout, draining, serving).await;

    // Also when serving failed, so that pending key uses are written before returning.
    stop.send_replace(true);
    let _ = flusher.await;
    let _ = listener_task.await;
    let _ = database_health.await;
    // Every call has been answered and every queue handle dropped with the services,
    // so the writers have nothing left to do and end.
    for writer in writers {
        let _ = writer.await;
    }
    stop_notifier.send_replace(true);
    let _ = notifier.await;
    if let Some(retention) = retention {
        let _ = retention.await;
    }
    served?;
    tracing::info!("control plane stopped");
    Ok(())
}

/// The accepted connections, with Nagle's algorithm off: a small response held back
/// until the peer's delayed acknowledgement would add tens of milliseconds to a call.
fn incoming(listener: TcpListener) -> TcpIncoming {
    TcpIncoming::from(listener).with_nodelay(Some(true))
}
