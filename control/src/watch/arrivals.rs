//! Telling waiting workers that new executions were committed.
//!
//! The control plane is the only writer of executions, so it announces its own
//! commits: at once to the workers subscribed to this replica, in process, and to
//! other replicas' workers with a PostgreSQL notification. Notifications are spaced:
//! every commit of a busy replica would otherwise wake a listening backend and each
//! listening replica (bench/run gained about 5 % of throughput without one per
//! commit), while a worker only needs to know that something arrived since it last
//! looked. A commit that comes right after a notification was sent is announced by the
//! next one, at most [`SPACING`] later.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use tokio::{
    sync::{Notify, watch},
    task::JoinHandle,
};
use uuid::Uuid;

use crate::store::{Store, StoreError};

/// The notification channel commits of new executions are announced on. The payload
/// names the replica that sent it.
pub const EXECUTIONS_CHANNEL: &str = "sluice_executions";

/// The shortest time between two notifications of one replica.
pub const SPACING: Duration = Duration::from_millis(10);

/// A counter bumped on every commit of new executions. Waiters only learn that
/// something arrived since they last looked, so a burst of commits wakes each of them
/// once and a slow waiter can never fall behind.
#[derive(Clone)]
pub struct Arrivals {
    sender: watch::Sender<u64>,
    /// The payload of this replica's notifications, so that its listener can tell
    /// them from other replicas' (its own workers were woken already).
    origin: Arc<str>,
    /// Whether a commit has not been sent to other replicas yet.
    unsent: Arc<AtomicBool>,
    wake_notifier: Arc<Notify>,
}

impl Arrivals {
    pub fn new() -> Self {
        Self {
            sender: watch::channel(0).0,
            origin: Uuid::new_v4().simple().to_string().into(),
            unsent: Arc::new(AtomicBool::new(false)),
            wake_notifier: Arc::new(Notify::new()),
        }
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.sender.subscribe()
    }

    /// Wakes every waiter of this replica. Called for other replicas' notifications,
    /// and after the listener reconnects, since notifications sent while nobody
    /// listened are gone.
    pub fn announce(&self) {
        self.sender
            .send_modify(|count| *count = count.wrapping_add(1));
    }

    /// Announces that this replica committed new executions: here at once, and to
    /// other replicas through the task [`Arrivals::spawn_notifier`] started.
    pub fn committed(&self) {
        self.announce();
        self.unsent.store(true, Ordering::Release);
        self.wake_notifier.notify_one();
    }

    /// Whether a notification on [`EXECUTIONS_CHANNEL`] came from this replica.
    pub fn is_own(&self, payload: &str) -> bool {
        payload == &*self.origin
    }

    /// Sends this replica's notifications until `stop` is set, then once more if a
    /// commit has not been announced yet. Stop it only after the last commit.
    pub fn spawn_notifier(&self, store: Store, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
        let arrivals = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = arrivals.wake_notifier.notified() => {}
                    _ = stop.wait_for(|stop| *stop) => break,
                }
                arrivals.notify_others(&store).await;
                tokio::select! {
                    () = tokio::time::sleep(SPACING) => {}
                    _ = stop.wait_for(|stop| *stop) => break,
                }
            }
            arrivals.notify_others(&store).await;
        })
    }

    async fn notify_others(&self, store: &Store) {
        if !self.unsent.swap(false, Ordering::AcqRel) {
            return;
        }
        if let Err(error) = self.send(store).await {
            // Other replicas' idle workers still look for executions every few
            // seconds; when the database is down there is nothing to find anyway.
            tracing::debug!(%error, "could not announce new executions to other replicas");
        }
    }

    async fn send(&self, store: &Store) -> Result<(), StoreError> {
        let client = store.client().await?;
        let statement = client.prepare_cached("SELECT pg_notify($1, $2)").await?;
        client
            .execute(&statement, &[&EXECUTIONS_CHANNEL, &&*self.origin])
            .await?;
        Ok(())
    }
}

impl Default for Arrivals {
    fn default() -> Self {
        Self::new()
    }
}
