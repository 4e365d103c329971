//! Retention: executions older than the configured age are deleted in the background,
//! a bounded number of rows per statement with a pause between statements, so that no
//! delete holds locks or the disk long enough to slow down accepting new executions.

use std::time::Duration;

use tokio::{sync::watch, task::JoinHandle};

use crate::store::{Store, StoreError};

/// Rows one statement deletes at most.
const BATCH_ROWS: i64 = 5_000;
/// The pause between two full batches, which leaves the database to the accept path.
const PAUSE: Duration = Duration::from_millis(200);
/// How often the table is looked at once nothing is left to delete.
const EVERY: Duration = Duration::from_secs(60);

/// Deletes executions older than `age` until `stopped` turns true.
pub fn spawn(store: Store, age: Duration, mut stopped: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match sweep(&store, age, &mut stopped).await {
                Ok(0) => {}
                Ok(deleted) => tracing::info!(deleted, "deleted executions past retention"),
                Err(error) => store.report(&error),
            }
            if pause(&mut stopped, EVERY).await {
                return;
            }
        }
    })
}

/// Deletes every execution older than `age`, batch by batch, and returns how many.
pub async fn sweep(
    store: &Store,
    age: Duration,
    stopped: &mut watch::Receiver<bool>,
) -> Result<u64, StoreError> {
    let mut deleted = 0;
    loop {
        let batch = delete_batch(store, age).await?;
        deleted += batch;
        if batch < BATCH_ROWS as u64 || pause(stopped, PAUSE).await {
            return Ok(deleted);
        }
    }
}

async fn delete_batch(store: &Store, age: Duration) -> Result<u64, StoreError> {
    let client = store.client().await?;
    // The age is measured on the database's clock, the one that set created_at.
    let statement = client
        .prepare_cached(
            "DELETE FROM executions WHERE id IN (
                 SELECT id FROM executions
                 WHERE created_at < now() - make_interval(secs => $1)
                 ORDER BY created_at
                 LIMIT $2)",
        )
        .await?;
    Ok(client
        .execute(&statement, &[&age.as_secs_f64(), &BATCH_ROWS])
        .await?)
}

/// Waits `duration`; true when `stopped` turned true meanwhile.
async fn pause(stopped: &mut watch::Receiver<bool>, duration: Duration) -> bool {
    if *stopped.borrow() {
        return true;
    }
    tokio::select! {
        () = tokio::time::sleep(duration) => *stopped.borrow(),
        _ = stopped.changed() => true,
    }
}
