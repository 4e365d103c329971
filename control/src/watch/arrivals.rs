//! Telling waiting workers that new executions were committed.

use tokio::sync::watch;

/// The notification channel the `executions` insert trigger sends on (migration 0003).
pub const EXECUTIONS_CHANNEL: &str = "sluice_executions";

/// A counter bumped on every commit of new executions. Waiters only learn that
/// something arrived since they last looked, so a burst of commits wakes each of them
/// once and a slow waiter can never fall behind.
#[derive(Clone)]
pub struct Arrivals {
    sender: watch::Sender<u64>,
}

impl Arrivals {
    pub fn new() -> Self {
        Self {
            sender: watch::channel(0).0,
        }
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.sender.subscribe()
    }

    /// Wakes every waiter. Also called after the listener reconnects, since
    /// notifications sent while nobody listened are gone.
    pub fn announce(&self) {
        self.sender
            .send_modify(|count| *count = count.wrapping_add(1));
    }
}

impl Default for Arrivals {
    fn default() -> Self {
        Self::new()
    }
}
