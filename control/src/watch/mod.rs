//! Telling every ingress replica which webhooks changed, whichever control replica
//! changed them.
//!
//! Every change to a webhook, its key or its workflow's published version sends a
//! PostgreSQL notification in the transaction that makes it, so it is delivered exactly
//! when the change commits. Each control replica listens on one dedicated connection and
//! fans the notifications out to its watchers.

mod arrivals;
mod listener;
mod stream;

use deadpool_postgres::GenericClient;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::store::StoreError;

pub use arrivals::{Arrivals, EXECUTIONS_CHANNEL};
pub use listener::spawn_listener;
pub use stream::watch_stream;

/// The notification channel webhook changes are sent on.
const CHANNEL: &str = "sluice_webhook_changes";

/// How many changes a slow watcher may fall behind before it is told to resync.
const BACKLOG: usize = 1024;

/// What a watcher is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// The webhook of this workflow changed.
    Workflow(Uuid),
    /// Changes may have been missed: everything cached must be dropped.
    Resync,
}

/// The fan-out point between the listener and the watchers.
#[derive(Clone)]
pub struct Changes {
    sender: broadcast::Sender<Change>,
}

impl Changes {
    pub fn new() -> Self {
        Self {
            sender: broadcast::channel(BACKLOG).0,
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.sender.subscribe()
    }

    fn publish(&self, change: Change) {
        // An error only means nobody is watching right now.
        let _ = self.sender.send(change);
    }
}

impl Default for Changes {
    fn default() -> Self {
        Self::new()
    }
}

/// Announces, when `client`'s transaction commits, that the workflow's webhook changed.
pub async fn notify_change(client: &impl GenericClient, workflow: Uuid) -> Result<(), StoreError> {
    let statement = client.prepare_cached("SELECT pg_notify($1, $2)").await?;
    client
        .execute(&statement, &[&CHANNEL, &workflow.to_string()])
        .await?;
    Ok(())
}
