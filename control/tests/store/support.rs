//! A control plane of its own for each test: a fresh, migrated database on the server
//! named by `SLUICE_TEST_DATABASE_URL`, served over a loopback socket.

use std::time::Duration;

use sluice_proto::v1::{admin_client::AdminClient, ingress_control_client::IngressControlClient};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tokio_postgres::NoTls;
use tonic::transport::Channel;

pub const SIGNING_SECRET: &str = "store-test-signing-secret";
pub const PUBLIC_URL: &str = "https://hooks.example.com/api/";

pub struct Control {
    channel: Channel,
    pub admin: AdminClient<Channel>,
    pub ingress: IngressControlClient<Channel>,
    /// A direct connection to the test's database, for asserting what is stored.
    pub db: tokio_postgres::Client,
    database: String,
    server_url: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

/// The server to create test databases on, or `None` when database tests are skipped
/// on purpose.
pub fn server_url() -> Option<String> {
    match std::env::var("SLUICE_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("SLUICE_SKIP_DB_TESTS").as_deref() == Ok("1") => {
            eprintln!("skipped: SLUICE_SKIP_DB_TESTS=1 and no SLUICE_TEST_DATABASE_URL");
            None
        }
        _ => panic!("set SLUICE_TEST_DATABASE_URL (scripts/test does this)"),
    }
}

/// `server_url` naming the database `name` instead (later parameters win).
pub fn with_database(server_url: &str, name: &str) -> String {
    if server_url.contains("://") {
        let separator = if server_url.contains('?') { '&' } else { '?' };
        format!("{server_url}{separator}dbname={name}")
    } else {
        format!("{server_url} dbname={name}")
    }
}

pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .expect("connect to the test PostgreSQL");
    tokio::spawn(connection);
    client
}

/// Creates an empty database (not migrated) and returns its name and URL.
pub async fn create_database(server_url: &str) -> (String, String) {
    let name = format!("ctl_test_{}", uuid::Uuid::new_v4().simple());
    connect(server_url)
        .await
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create the test database");
    let url = with_database(server_url, &name);
    (name, url)
}

pub async fn drop_database(server_url: &str, name: &str) {
    connect(server_url)
        .await
        .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await
        .expect("drop the test database");
}

/// Starts a control plane on a fresh migrated database, or returns `None` when
/// database tests are skipped.
pub async fn start() -> Option<Control> {
    let server_url = server_url()?;
    let (database, database_url) = create_database(&server_url).await;
    sluice_control::migrate(&database_url)
        .await
        .expect("migrate the test database");

    let (shutdown, task, channel) = serve(&database_url).await;
    Some(Control {
        channel: channel.clone(),
        admin: AdminClient::new(channel.clone()),
        ingress: IngressControlClient::new(channel),
        db: connect(&database_url).await,
        database,
        server_url,
        shutdown: Some(shutdown),
        task: Some(task),
    })
}

/// Runs the control plane against `database_url` on a loopback port.
pub async fn serve(
    database_url: &str,
) -> (oneshot::Sender<()>, JoinHandle<anyhow::Result<()>>, Channel) {
    serve_with(database_url, |_| {}).await
}

/// `serve` with a configuration that `configure` adjusted.
pub async fn serve_with(
    database_url: &str,
    configure: impl FnOnce(&mut sluice_control::Config),
) -> (oneshot::Sender<()>, JoinHandle<anyhow::Result<()>>, Channel) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let address = listener.local_addr().expect("listening address");
    let mut config = sluice_control::Config {
        database_url: database_url.to_owned(),
        signing_secret: SIGNING_SECRET.to_owned(),
        public_url: PUBLIC_URL.to_owned(),
        pool_size: 4,
        drain_timeout: sluice_control::DEFAULT_DRAIN_TIMEOUT,
        metrics: sluice_control::Metrics::default(),
        writers: sluice_control::DEFAULT_WRITERS,
        retention: None,
        // These tests are about the store; authentication has its own end-to-end tests.
        authentication: sluice_control::Authentication::Disabled,
        tls: None,
    };
    configure(&mut config);
    let (shutdown, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(sluice_control::run(config, listener, async move {
        let _ = stopped.await;
    }));
    let channel = Channel::from_shared(format!("http://{address}"))
        .expect("control URL")
        .connect_lazy();
    (shutdown, task, channel)
}

impl Control {
    /// Stops the server and checks that it drained cleanly; the database stays.
    pub async fn stop_server(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(20), task)
                .await
                .expect("the control plane drains within 20 s")
                .expect("the control plane task does not panic")
                .expect("the control plane returns cleanly");
        }
    }

    /// Stops the server and drops the database.
    pub async fn stop(mut self) {
        self.stop_server().await;
        drop(self.db);
        drop_database(&self.server_url, &self.database).await;
    }

    /// A channel to the control plane, for clients of other services.
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// The URL of the test's database, for a second control plane on it.
    pub fn database_url(&self) -> String {
        with_database(&self.server_url, &self.database)
    }

    pub async fn count(&self, sql: &str) -> i64 {
        self.db
            .query_one(sql, &[])
            .await
            .expect("count rows")
            .get(0)
    }
}
