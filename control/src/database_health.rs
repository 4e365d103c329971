//! The control plane's `grpc.health.v1` status follows the database: its services are
//! NOT_SERVING until a health check query answers, and again whenever one fails, so
//! that an orchestrator routes calls only to instances that can serve them.

use std::time::Duration;

use tokio::{sync::watch, task::JoinHandle};
use tonic_health::{ServingStatus, server::HealthReporter};

use crate::{metrics::Metrics, store::Store};

/// How often the database is asked; also how often the pool gauges are sampled.
const CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// A check that takes longer than this counts as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Checks the database until `stopped`, then reports every service NOT_SERVING so that
/// no new call is routed here while the server drains.
pub fn spawn(
    store: Store,
    reporter: HealthReporter,
    services: Vec<&'static str>,
    metrics: Metrics,
    mut stopped: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut serving = None;
        loop {
            let up = answers(&store).await;
            metrics.database_up(up);
            metrics.pool(store.pool_status());
            if serving != Some(up) {
                report(&reporter, &services, up).await;
                serving = Some(up);
            }
            tokio::select! {
                _ = stopped.wait_for(|stopped| *stopped) => break,
                () = tokio::time::sleep(CHECK_INTERVAL) => {}
            }
        }
        report(&reporter, &services, false).await;
    })
}

async fn answers(store: &Store) -> bool {
    let check = async {
        let client = store.client().await.ok()?;
        client.simple_query("SELECT 1").await.ok()
    };
    matches!(
        tokio::time::timeout(CHECK_TIMEOUT, check).await,
        Ok(Some(_))
    )
}

async fn report(reporter: &HealthReporter, services: &[&'static str], up: bool) {
    let status = if up {
        ServingStatus::Serving
    } else {
        ServingStatus::NotServing
    };
    reporter.set_service_status("", status).await;
    for service in services {
        reporter.set_service_status(*service, status).await;
    }
}
