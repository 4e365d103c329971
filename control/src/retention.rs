//! Retention: executions older than the configured age are deleted in the background,
//! a bounded number of rows per statement with a pause between statements, so that no
//! delete holds locks or the disk long enough to slow down accepting new executions.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::{sync::watch, task::JoinHandle};

use uuid::Uuid;

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
    // Execution ids are UUIDv7, made by the control plane's clock: every id created
    // before the cut-off sorts below it, so the primary key finds them.
    let statement = client
        .prepare_cached(
            "DELETE FROM executions WHERE id IN (
                 SELECT id FROM executions WHERE id < $1 ORDER BY id LIMIT $2)",
        )
        .await?;
    let cutoff = SystemTime::now().checked_sub(age).unwrap_or(UNIX_EPOCH);
    Ok(client
        .execute(&statement, &[&first_id_at(cutoff), &BATCH_ROWS])
        .await?)
}

/// The smallest UUIDv7 of the millisecond `at`: its 48-bit Unix time in milliseconds
/// and nothing after it.
fn first_id_at(at: SystemTime) -> Uuid {
    let millis = at
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    Uuid::from_u128((millis & 0xffff_ffff_ffff) << 80)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cutoff_id_sorts_between_ids_made_before_and_after_it() {
        let cutoff = SystemTime::now() - Duration::from_secs(3600);
        let made_before = Uuid::new_v7(uuid::Timestamp::from_unix(
            uuid::NoContext,
            cutoff.duration_since(UNIX_EPOCH).unwrap().as_secs() - 1,
            0,
        ));
        let made_after = Uuid::now_v7();
        let bound = first_id_at(cutoff);
        assert!(made_before < bound);
        assert!(bound < made_after);
        assert_eq!(bound.get_version_num(), 0, "a bound, not an id");
    }
}
