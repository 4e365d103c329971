//! Recording when each API key was last used, without a database write per request:
//! uses are noted in memory and written in one statement once a second.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use tokio::{sync::watch, task::JoinHandle};
use uuid::Uuid;

use crate::store::{Store, StoreError};

const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// The latest use of each webhook's key since the last flush.
#[derive(Clone, Default)]
pub struct KeyUse {
    pending: Arc<Mutex<HashMap<Uuid, SystemTime>>>,
}

impl KeyUse {
    pub fn record(&self, webhook: Uuid, at: SystemTime) {
        let mut pending = self
            .pending
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let latest = pending.entry(webhook).or_insert(at);
        *latest = (*latest).max(at);
    }

    fn take(&self) -> HashMap<Uuid, SystemTime> {
        std::mem::take(
            &mut *self
                .pending
                .lock()
                .unwrap_or_else(|poison| poison.into_inner()),
        )
    }

    /// Puts back uses that could not be written, so that the next flush retries them.
    fn restore(&self, uses: HashMap<Uuid, SystemTime>) {
        for (webhook, at) in uses {
            self.record(webhook, at);
        }
    }

    /// Writes every pending use.
    pub async fn flush(&self, store: &Store) -> Result<(), StoreError> {
        let uses = self.take();
        if uses.is_empty() {
            return Ok(());
        }
        let result = write(store, &uses).await;
        if result.is_err() {
            self.restore(uses);
        }
        result
    }

    /// Flushes once a second until `shutdown` is set, then once more.
    pub fn spawn_flusher(
        &self,
        store: Store,
        mut shutdown: watch::Receiver<bool>,
    ) -> JoinHandle<()> {
        let key_use = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(FLUSH_EVERY);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    _ = shutdown.wait_for(|stop| *stop) => break,
                }
                if let Err(error) = key_use.flush(&store).await {
                    store.report(&error);
                }
            }
            if let Err(error) = key_use.flush(&store).await {
                store.report(&error);
            }
        })
    }
}

async fn write(store: &Store, uses: &HashMap<Uuid, SystemTime>) -> Result<(), StoreError> {
    let (webhooks, times): (Vec<Uuid>, Vec<SystemTime>) = uses.iter().unzip();
    let client = store.client().await?;
    // A use older than the key belongs to a key that has since been replaced, and a
    // revoked key is no longer in use.
    let statement = client
        .prepare_cached(
            "UPDATE webhook_api_keys k
             SET last_used_at = greatest(k.last_used_at, u.used_at)
             FROM unnest($1::uuid[], $2::timestamptz[]) AS u(webhook_id, used_at)
             WHERE k.webhook_id = u.webhook_id
               AND k.created_at <= u.used_at
               AND k.revoked_at IS NULL",
        )
        .await?;
    client.execute(&statement, &[&webhooks, &times]).await?;
    Ok(())
}
