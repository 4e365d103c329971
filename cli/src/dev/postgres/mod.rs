//! A private PostgreSQL cluster for `sluice dev`, run from the system's PostgreSQL
//! binaries and kept in the data dir across restarts.
//!
//! The cluster listens on 127.0.0.1 only, on a free port chosen at each start, and has
//! no Unix socket (a socket path inside a deep data dir can exceed the kernel's length
//! limit, and nothing needs it). Its superuser `sluice` has a password generated into
//! `<data-dir>/postgres-password` (mode 0600), so that other local users cannot use
//! the server even though it is on loopback.
//!
//! Started by root, the server runs as the `postgres` system user, which owns the
//! cluster. If that user cannot enter the data dir, the cluster is kept under
//! `/var/tmp` instead and its location recorded in `<data-dir>/postgres-location`.

mod account;
mod binaries;
mod initdb;
mod leftover;

use std::{
    fs::{self, File, OpenOptions},
    io::{Read, Seek, SeekFrom},
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use tokio::process::{Child, Command};
use tracing::{info, warn};

use self::{account::ServerAccount, binaries::Binaries, initdb::initialize};
use super::{
    data_dir::read_or_create_secret,
    process::{self, Signal},
};

const USER: &str = "sluice";
const DATABASE: &str = "sluice";
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(60);

/// A running PostgreSQL server on the cluster of one data dir.
pub struct Cluster {
    server: Option<Child>,
    port: u16,
    password: String,
    log: PathBuf,
}

impl Cluster {
    /// Starts the cluster kept in `data_dir`, creating it on first use, and waits until
    /// it accepts connections and has the `sluice` database.
    ///
    /// Call it from the main thread: the server is told to stop when the thread that
    /// started it ends, which should only happen when the process does.
    pub async fn start(data_dir: &Path) -> anyhow::Result<Self> {
        let binaries = Binaries::find()?;
        let account = if process::is_root() {
            Some(ServerAccount::lookup()?)
        } else {
            None
        };
        let dir = locate(data_dir, account)?;
        let password = read_or_create_secret(&data_dir.join("postgres-password"))?;

        if !dir.join("PG_VERSION").exists() {
            initialize(&binaries, &dir, account, &password).await?;
        }
        leftover::wait_for_exit(&dir).await?;

        let port = free_port()?;
        let log = data_dir.join("postgres.log");
        let server = spawn_server(&binaries, &dir, port, account, &log)?;
        let mut cluster = Self {
            server: Some(server),
            port,
            password,
            log,
        };
        if let Err(error) = cluster.wait_until_ready().await {
            if let Err(stop_error) = cluster.stop().await {
                warn!(
                    error = format!("{stop_error:#}"),
                    "could not stop PostgreSQL"
                );
            }
            return Err(error);
        }
        info!(port, "PostgreSQL is ready");
        Ok(cluster)
    }

    /// The connection string of the `sluice` database. It holds the password.
    pub fn url(&self) -> String {
        format!(
            "postgres://{USER}:{}@127.0.0.1:{}/{DATABASE}",
            self.password, self.port
        )
    }

    /// Shuts the server down (fast shutdown: sessions are ended, data is flushed) and
    /// waits for it to exit.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let Some(mut server) = self.server.take() else {
            return Ok(());
        };
        if server.try_wait()?.is_some() {
            return Ok(());
        }
        let pid = server.id().context("the PostgreSQL server has no pid")?;

        process::send_signal(pid, Signal::Interrupt).context("signal PostgreSQL")?;
        if tokio::time::timeout(SHUTDOWN_TIMEOUT, server.wait())
            .await
            .is_err()
        {
            warn!(
                pid,
                "PostgreSQL did not stop in time; forcing an immediate shutdown"
            );
            process::send_signal(pid, Signal::Quit).context("signal PostgreSQL")?;
            server.wait().await.context("wait for PostgreSQL to exit")?;
        }
        info!("PostgreSQL stopped");
        Ok(())
    }

    async fn wait_until_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let client = loop {
            let server = self.server.as_mut().context("PostgreSQL was stopped")?;
            if let Some(status) = server.try_wait()? {
                bail!(
                    "PostgreSQL exited while starting ({status}); the end of {}:\n{}",
                    self.log.display(),
                    log_tail(&self.log)
                );
            }
            match self.connect("postgres").await {
                Ok(client) => break client,
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(error) => {
                    return Err(error).context(format!(
                        "PostgreSQL did not accept connections within {} s",
                        STARTUP_TIMEOUT.as_secs()
                    ));
                }
            }
        };

        let exists = client
            .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&DATABASE])
            .await
            .context("look for the sluice database")?
            .is_some();
        if !exists {
            client
                .batch_execute(&format!("CREATE DATABASE {DATABASE}"))
                .await
                .context("create the sluice database")?;
        }
        Ok(())
    }

    async fn connect(
        &self,
        database: &str,
    ) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
        let (client, connection) = tokio_postgres::Config::new()
            .host("127.0.0.1")
            .port(self.port)
            .user(USER)
            .password(&self.password)
            .dbname(database)
            .connect_timeout(Duration::from_secs(2))
            .connect(tokio_postgres::NoTls)
            .await?;
        // The connection ends when the client is dropped; a failure shows in the query.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(client)
    }
}

impl Drop for Cluster {
    // An error path that never reached `stop` must not leave the server running.
    fn drop(&mut self) {
        if let Some(server) = &mut self.server
            && let (Ok(None), Some(pid)) = (server.try_wait(), server.id())
        {
            let _ = process::send_signal(pid, Signal::Interrupt);
        }
    }
}

/// Where the cluster lives: `<data-dir>/postgres`, unless the server's account cannot
/// reach it.
fn locate(data_dir: &Path, account: Option<ServerAccount>) -> anyhow::Result<PathBuf> {
    let in_data_dir = data_dir.join("postgres");
    let Some(account) = account else {
        return Ok(in_data_dir);
    };
    let record = data_dir.join("postgres-location");
    if let Ok(recorded) = fs::read_to_string(&record) {
        return Ok(PathBuf::from(recorded.trim()));
    }
    if account.can_reach(data_dir) {
        return Ok(in_data_dir);
    }

    let unreachable = format!(
        "the {} user cannot reach {}; choose a --data-dir under a directory it can enter \
         (e.g. /var/tmp/sluice), or make the directories on the way searchable (chmod o+x)",
        ServerAccount::NAME,
        data_dir.display()
    );
    let shared = Path::new("/var/tmp");
    if in_data_dir.join("PG_VERSION").exists() || !account.can_reach(shared) {
        bail!(unreachable);
    }
    let elsewhere = shared.join(format!(
        "sluice-postgres-{}",
        hex::encode(rand::random::<[u8; 8]>())
    ));
    fs::write(&record, format!("{}\n", elsewhere.display()))
        .with_context(|| format!("write {}", record.display()))?;
    info!(
        dir = %elsewhere.display(),
        "the postgres user cannot enter the data dir; keeping the cluster elsewhere"
    );
    Ok(elsewhere)
}

fn spawn_server(
    binaries: &Binaries,
    dir: &Path,
    port: u16,
    account: Option<ServerAccount>,
    log: &Path,
) -> anyhow::Result<Child> {
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("open {}", log.display()))?;

    let mut server = Command::new(&binaries.postgres);
    server
        .arg("-D")
        .arg(dir)
        .arg("-p")
        .arg(port.to_string())
        .args(["-c", "listen_addresses=127.0.0.1"])
        .args(["-c", "unix_socket_directories="])
        // The cluster's directory is the one place the server's account can surely enter.
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().context("duplicate the log file")?)
        .stderr(log)
        // In its own process group, a terminal's Ctrl-C reaches only `sluice dev`, which
        // stops the services before the database.
        .process_group(0);
    run_as(&mut server, account);
    process::die_with_parent(&mut server);
    server
        .spawn()
        .with_context(|| format!("start {}", binaries.postgres.display()))
}

fn run_as(command: &mut Command, account: Option<ServerAccount>) {
    if let Some(account) = account {
        command.uid(account.uid).gid(account.gid);
    }
}

/// A free loopback port. The server binds it a moment later; another process taking it
/// in between makes the start fail with a clear message in the log.
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("find a free port")?;
    Ok(listener.local_addr()?.port())
}

/// The last lines of the server's log, for an error message.
fn log_tail(log: &Path) -> String {
    let read = || -> std::io::Result<String> {
        let mut file = File::open(log)?;
        let length = file.metadata()?.len();
        file.seek(SeekFrom::Start(length.saturating_sub(4096)))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    let text = read().unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}
