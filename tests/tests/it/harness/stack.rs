//! The whole system for one test: a fresh database, the control plane and the ingress,
//! each serving on its own loopback socket exactly as in production.

use std::{future::Future, net::SocketAddr, pin::Pin, time::Duration};

use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tonic::transport::Channel;

use super::{
    credentials::{self, ADMIN_TOKEN, INGRESS_TOKEN},
    database,
    proxy::Proxy,
};

/// The signing secret every test stack derives URL secrets from.
pub const SIGNING_SECRET: &str = "test-signing-secret";

/// What a test may change about the stack before it starts.
#[derive(Clone, Debug)]
pub struct Options {
    pub ingress: sluice_ingress::Config,
    /// Route the control plane's database connections through a `Proxy` the test can
    /// cut.
    pub database_proxy: bool,
    /// TLS on the control plane's listener; the ingress and the stack's own clients
    /// then connect over `https://` with `ingress.control_tls`.
    pub tls: Option<sluice_control::TlsConfig>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            ingress: sluice_ingress::Config {
                control_timeout: Duration::from_secs(3),
                ..sluice_ingress::Config::default()
            },
            database_proxy: false,
            tls: None,
        }
    }
}

/// A running service, stopped by `stop`.
struct Service {
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Service {
    async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        tokio::time::timeout(Duration::from_secs(20), &mut self.task)
            .await
            .expect("service drains within 20 s")
            .expect("service task does not panic")
            .expect("service returns cleanly");
    }
}

pub struct Stack {
    pub database_url: String,
    pub http: SocketAddr,
    pub grpc: SocketAddr,
    /// Clients presenting the admin and the ingress credential.
    pub admin: credentials::Admin,
    pub ingress_control: credentials::IngressControl,
    /// Present when the stack was started with `database_proxy`.
    pub proxy: Option<Proxy>,
    control_config: sluice_control::Config,
    control: Option<Service>,
    ingress: Option<Service>,
}

impl Stack {
    pub async fn start() -> Self {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> Self {
        let database_url = database::fresh().await;
        let (proxy, control_database_url) = if options.database_proxy {
            let proxy = Proxy::start(database::server_addr(&database_url)).await;
            let url = database::with_addr(&database_url, proxy.addr);
            (Some(proxy), url)
        } else {
            (None, database_url.clone())
        };

        let http_listener = bind().await;
        let http = http_listener.local_addr().expect("http listener address");
        let grpc_listener = bind_restartable().await;
        let grpc = grpc_listener.local_addr().expect("grpc listener address");

        let control_config = sluice_control::Config {
            database_url: control_database_url,
            signing_secret: SIGNING_SECRET.to_owned(),
            public_url: format!("http://{http}{}", options.ingress.path_prefix),
            pool_size: 8,
            writers: sluice_control::DEFAULT_WRITERS,
            retention: None,
            authentication: credentials::authentication(),
            drain_timeout: sluice_control::DEFAULT_DRAIN_TIMEOUT,
            metrics: sluice_control::Metrics::default(),
            tls: options.tls.clone(),
        };
        let control = spawn_control(control_config.clone(), grpc_listener);

        let scheme = if options.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let control_url = format!("{scheme}://{grpc}");
        let control_tls = options.ingress.control_tls.clone();
        let ingress_config = sluice_ingress::Config {
            control_url: control_url.clone(),
            control_token: Some(sluice_ingress::ControlToken::new(INGRESS_TOKEN)),
            ..options.ingress
        };
        let ingress =
            spawn(|shutdown| sluice_ingress::run(ingress_config, http_listener, shutdown));

        let endpoint = Channel::from_shared(control_url.clone()).expect("control URL");
        let channel =
            sluice_ingress::secure_control_endpoint(endpoint, &control_url, control_tls.as_ref())
                .expect("TLS towards the control plane")
                .connect_lazy();
        Self {
            database_url,
            http,
            grpc,
            admin: credentials::admin(channel.clone(), Some(ADMIN_TOKEN)),
            ingress_control: credentials::ingress_control(channel, Some(INGRESS_TOKEN)),
            proxy,
            control_config,
            control: Some(control),
            ingress: Some(ingress),
        }
    }

    /// What the control plane has counted so far.
    pub fn control_metrics(&self) -> sluice_control::Metrics {
        self.control_config.metrics.clone()
    }

    /// Stops the control plane, as if its process died or was being redeployed.
    pub async fn stop_control(&mut self) {
        if let Some(control) = self.control.take() {
            control.stop().await;
        }
    }

    /// Starts the control plane again on the address it had.
    pub async fn restart_control(&mut self) {
        assert!(self.control.is_none(), "the control plane is still running");
        // The port sits below the ephemeral range, so no other test is handed it while
        // the control plane is down; a retry covers a port still being released.
        let mut attempts = 0;
        let listener = loop {
            match TcpListener::bind(self.grpc).await {
                Ok(listener) => break listener,
                Err(_) if attempts < 100 => {
                    attempts += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Err(error) => panic!("rebind the control plane's address: {error}"),
            }
        };
        self.control = Some(spawn_control(self.control_config.clone(), listener));
    }

    /// Tells the ingress to stop and returns without waiting; the returned task ends
    /// once the ingress has drained.
    pub fn begin_ingress_shutdown(&mut self) -> JoinHandle<anyhow::Result<()>> {
        let mut ingress = self.ingress.take().expect("the ingress is running");
        if let Some(shutdown) = ingress.shutdown.take() {
            let _ = shutdown.send(());
        }
        ingress.task
    }

    /// Stops both services and waits until they have drained.
    pub async fn stop(mut self) {
        if let Some(ingress) = self.ingress.take() {
            ingress.stop().await;
        }
        self.stop_control().await;
    }
}

/// A loopback port the control plane can be started on again after a stop: one below
/// Linux's ephemeral range (32768 and up), where `bind(0)` and outgoing connections of
/// other tests never land.
async fn bind_restartable() -> TcpListener {
    let start = (uuid::Uuid::new_v4().as_u128() % 12_000) as u16;
    for offset in 0..12_000u16 {
        let port = 20_000 + (start + offset) % 12_000;
        if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)).await {
            return listener;
        }
    }
    panic!("no free loopback port between 20000 and 32000");
}

async fn bind() -> TcpListener {
    TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port")
}

fn spawn_control(config: sluice_control::Config, listener: TcpListener) -> Service {
    spawn(|shutdown| sluice_control::run(config, listener, shutdown))
}

/// Resolves when the test asks a service to stop.
type ShutdownSignal = Pin<Box<dyn Future<Output = ()> + Send>>;

fn spawn<F, Fut>(start: F) -> Service
where
    F: FnOnce(ShutdownSignal) -> Fut,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(start(Box::pin(async move {
        let _ = rx.await;
    })));
    Service {
        shutdown: Some(tx),
        task,
    }
}
