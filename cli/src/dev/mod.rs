//! `sluice dev`: the whole system on one machine. It runs a private PostgreSQL cluster
//! (unless given `--database-url`), migrates it, serves the control plane and the
//! ingress in this process, sets up a demo webhook and stops everything in order on
//! Ctrl-C or SIGTERM.

mod data_dir;
mod demo;
mod postgres;
mod process;

use std::{future::Future, io::Write, net::SocketAddr, path::Path, sync::Arc, time::Duration};

use anyhow::{Context, anyhow};
use sluice_telemetry::metrics_endpoint::Render;
use tokio::{net::TcpListener, task::JoinSet};
use tracing::{info, warn};

pub use self::data_dir::advertised_control_url;
use self::{data_dir::DataDir, postgres::Cluster};
use crate::{
    args::{DEFAULT_CONTROL_URL, DEFAULT_DATA_DIR, DevArgs},
    servers::{self, Operations},
    shutdown::{Signals, Trigger},
};

/// How much longer than their own drain timeout the services get to stop before they
/// are abandoned: enough for the control plane to write its pending key uses.
const DRAIN_MARGIN: Duration = Duration::from_secs(5);

pub async fn run(args: DevArgs, data_dir: &Path, operations: Operations) -> anyhow::Result<()> {
    // Everything `dev` runs talks over loopback, where TLS would protect nothing.
    if args.control.tls.tls_config()?.is_some() {
        anyhow::bail!(
            "`sluice dev` serves plaintext on loopback; --tls-cert is for `sluice control`"
        );
    }
    let mut signals = Signals::install()?;
    let data_dir = DataDir::open(data_dir)?;

    // Bound before the database starts, so that a port in use is reported at once.
    let grpc = servers::bind(args.control.grpc).await?;
    let http = servers::bind(args.ingress.http).await?;
    let metrics = servers::bind_metrics(operations).await?;

    let database = tokio::select! {
        database = Database::open(&args, &data_dir) => database?,
        signal = signals.recv() => {
            info!(signal, "stopping before startup finished");
            return Ok(());
        }
    };

    let served = serve(
        &args,
        &data_dir,
        grpc,
        http,
        database.url.clone(),
        &mut signals,
        (metrics, operations),
    )
    .await;
    data_dir.withdraw_control_url();
    let closed = database.close().await;
    served.and(closed)
}

/// The database the control plane uses: the private cluster, or one given by URL.
struct Database {
    url: String,
    cluster: Option<Cluster>,
}

impl Database {
    async fn open(args: &DevArgs, data_dir: &DataDir) -> anyhow::Result<Self> {
        if let Some(url) = &args.control.database_url {
            return Ok(Self {
                url: url.clone(),
                cluster: None,
            });
        }
        let cluster = Cluster::start(data_dir.path()).await?;
        Ok(Self {
            url: cluster.url(),
            cluster: Some(cluster),
        })
    }

    async fn close(self) -> anyhow::Result<()> {
        match self.cluster {
            Some(cluster) => cluster.stop().await.context("stop PostgreSQL"),
            None => Ok(()),
        }
    }
}

async fn serve(
    args: &DevArgs,
    data_dir: &DataDir,
    grpc: TcpListener,
    http: TcpListener,
    database_url: String,
    signals: &mut Signals,
    (metrics, operations): (Option<TcpListener>, Operations),
) -> anyhow::Result<()> {
    sluice_control::migrate(&database_url)
        .await
        .context("migrate the database")?;

    let grpc_addr = grpc.local_addr()?;
    let http_addr = http.local_addr()?;
    let control_url = format!("http://{grpc_addr}");
    let public_url = args
        .control
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{http_addr}{}", args.ingress.path_prefix));
    let signing_secret = match &args.control.signing_secret {
        Some(secret) => secret.clone(),
        None => data_dir.signing_secret()?,
    };
    let ingress_token = data_dir.ingress_token()?;
    let admin_token = data_dir.admin_token()?;
    let worker_token = data_dir.worker_token()?;
    let control_config = sluice_control::Config {
        database_url,
        signing_secret,
        public_url,
        pool_size: args.control.pool_size,
        writers: args.control.writers,
        retention: args.control.retention,
        authentication: dev_authentication(&ingress_token, &admin_token, &worker_token),
        drain_timeout: operations.drain_timeout,
        metrics: sluice_control::Metrics::default(),
        tls: None,
    };
    let mut ingress_config = args.ingress.to_config(control_url.clone())?;
    ingress_config.control_token = Some(sluice_ingress::ControlToken::new(ingress_token));
    ingress_config.drain_timeout = operations.drain_timeout;

    let shutdown = Trigger::new();
    // One endpoint for both services: their metric names never overlap, and only the
    // last text may end with the end-of-exposition marker.
    let render = {
        let (control, ingress) = (
            control_config.metrics.clone(),
            ingress_config.metrics.clone(),
        );
        Arc::new(move || {
            let control = control.render();
            let control = control.strip_suffix("# EOF\n").unwrap_or(&control);
            format!("{control}{}", ingress.render())
        }) as Render
    };
    let endpoint = servers::serve_metrics(metrics, render, &shutdown);
    // The control plane stops only once the ingress has drained: the requests still in
    // flight at a Ctrl-C or SIGTERM need it to commit their executions.
    let ingress_running = Trigger::new();
    let control_shutdown = {
        let (asked, ingress_stopped) = (shutdown.wait(), ingress_running.wait());
        async move {
            asked.await;
            ingress_stopped.await;
        }
    };
    let ingress = sluice_ingress::run(ingress_config, http, shutdown.wait());
    let mut services = JoinSet::new();
    services.spawn(named(
        "control plane",
        sluice_control::run(control_config, grpc, control_shutdown),
    ));
    services.spawn(named("ingress", async move {
        let stopped = ingress.await;
        // Dropping the trigger is what tells the control plane the ingress is done.
        drop(ingress_running);
        stopped
    }));

    let outcome = tokio::select! {
        outcome = async {
            let webhook = demo::ensure(&control_url, &admin_token, data_dir).await?;
            data_dir.advertise_control_url(&control_url)?;
            // A closed stdout (the terminal went away, a pipe reader exited) must not
            // stop the system, so a failed write is only logged.
            let mut stdout = std::io::stdout().lock();
            let banner = banner(&webhook, http_addr, &control_url, data_dir.given());
            if let Err(error) = writeln!(stdout, "{banner}")
                .and_then(|()| stdout.flush())
            {
                warn!(%error, "cannot print the banner to stdout");
            }
            drop(stdout);
            let signal = signals.recv().await;
            info!(signal, "shutting down");
            anyhow::Ok(())
        } => outcome,
        Some(stopped) = services.join_next() => Err(match stopped {
            Ok((name, Ok(()))) => anyhow!("the {name} stopped unexpectedly"),
            Ok((name, Err(error))) => error.context(format!("the {name} failed")),
            Err(error) => anyhow!("a service task failed: {error}"),
        }),
    };

    shutdown.fire();
    let drained = drain(&mut services, operations.drain_timeout + DRAIN_MARGIN).await;
    servers::finish(endpoint).await;
    outcome.and(drained)
}

/// The three credentials of a `sluice dev`, generated into its data dir.
fn dev_authentication(
    ingress_token: &str,
    admin_token: &str,
    worker_token: &str,
) -> sluice_control::Authentication {
    let credential = |role: sluice_control::Role, token: &str| sluice_control::Credential {
        name: role.as_str().to_owned(),
        role,
        token: token.to_owned(),
    };
    sluice_control::Authentication::Tokens(vec![
        credential(sluice_control::Role::Ingress, ingress_token),
        credential(sluice_control::Role::Admin, admin_token),
        credential(sluice_control::Role::Worker, worker_token),
    ])
}

async fn named(
    name: &'static str,
    service: impl Future<Output = anyhow::Result<()>>,
) -> (&'static str, anyhow::Result<()>) {
    (name, service.await)
}

/// Waits for every service to finish its shutdown; the first failure is the result.
async fn drain(
    services: &mut JoinSet<(&'static str, anyhow::Result<()>)>,
    timeout: Duration,
) -> anyhow::Result<()> {
    let mut outcome = Ok(());
    let drained = tokio::time::timeout(timeout, async {
        while let Some(stopped) = services.join_next().await {
            let failure = match stopped {
                Ok((_, Ok(()))) => continue,
                Ok((name, Err(error))) => error.context(format!("the {name} failed")),
                Err(error) => anyhow!("a service task failed: {error}"),
            };
            if outcome.is_ok() {
                outcome = Err(failure);
            }
        }
    })
    .await;
    if drained.is_err() {
        warn!("the services did not stop in time; abandoning them");
        services.abort_all();
    }
    outcome
}

/// What the operator sees once everything is up. The webhook URL contains its secret:
/// it goes to the terminal, never to the log.
/// The admin command it suggests works as printed: it names the data directory (where
/// the tokens are) and the control plane when they are not the defaults.
fn banner(
    webhook: &sluice_proto::v1::Webhook,
    http_addr: SocketAddr,
    control_url: &str,
    data_dir: &Path,
) -> String {
    let mut flags = String::new();
    if data_dir != Path::new(DEFAULT_DATA_DIR) {
        flags.push_str(&format!(" --data-dir {}", data_dir.display()));
    }
    if control_url != DEFAULT_CONTROL_URL {
        flags.push_str(&format!(" --control {control_url}"));
    }
    format!(
        "Sluice is running.\n  \
           webhook URL:   {url}\n  \
           ingress HTTP:  http://{http_addr}\n  \
           control gRPC:  {control_url}\n\
         Try it:\n  \
           curl -X POST -H 'content-type: application/json' -d '{{\"alert_id\":\"A-1\"}}' '{url}'\n  \
           sluice executions list {workflow}{flags} --json\n\
         Press Ctrl-C to stop.",
        url = webhook.url,
        workflow = webhook.workflow_id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suggested_command(data_dir: &str, control_url: &str) -> String {
        let webhook = sluice_proto::v1::Webhook {
            workflow_id: "wf_x".to_owned(),
            url: "http://127.0.0.1:8080/webhooks/wf_x/s".to_owned(),
            ..Default::default()
        };
        let addr: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let text = banner(&webhook, addr, control_url, Path::new(data_dir));
        text.lines()
            .find(|line| line.contains("sluice executions list"))
            .unwrap()
            .trim()
            .to_owned()
    }

    #[test]
    fn the_suggested_command_names_what_is_not_the_default() {
        assert_eq!(
            suggested_command(DEFAULT_DATA_DIR, DEFAULT_CONTROL_URL),
            "sluice executions list wf_x --json"
        );
        assert_eq!(
            suggested_command("/tmp/state", DEFAULT_CONTROL_URL),
            "sluice executions list wf_x --data-dir /tmp/state --json"
        );
        assert_eq!(
            suggested_command(DEFAULT_DATA_DIR, "http://127.0.0.1:6000"),
            "sluice executions list wf_x --control http://127.0.0.1:6000 --json"
        );
    }
}
