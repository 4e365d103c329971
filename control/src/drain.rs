//! Bounding a graceful shutdown: calls in flight get `timeout` to finish once shutdown
//! has begun, after which the server stops waiting for them.

use std::{future::Future, time::Duration};

use anyhow::Context;
use tokio::sync::watch;

/// Runs `serving` to its end, or until `timeout` after `stopped` turned true.
pub async fn within(
    timeout: Duration,
    mut stopped: watch::Receiver<bool>,
    serving: impl Future<Output = Result<(), tonic::transport::Error>>,
) -> anyhow::Result<()> {
    let deadline = async {
        let _ = stopped.wait_for(|stopped| *stopped).await;
        tokio::time::sleep(timeout).await;
    };
    tokio::select! {
        served = serving => served.context("serve gRPC"),
        () = deadline => {
            tracing::warn!(?timeout, "calls still running at the drain timeout; abandoning them");
            Ok(())
        }
    }
}
