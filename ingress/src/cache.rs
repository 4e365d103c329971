//! Webhook configurations cached in memory, kept fresh by the control plane's watch
//! stream.
//!
//! Entries are used only while the stream is connected: a change made while it is down
//! could not be heard, so on disconnect everything is dropped and every request fetches
//! a fresh configuration until the stream is back. Staleness is therefore bounded by
//! the latency of the watch stream.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use sluice_proto::v1::WebhookChange;
use uuid::Uuid;

use crate::{control::ControlClient, webhook::Webhook};

/// Enough for every webhook of a large deployment, small enough to bound memory.
pub const DEFAULT_CAPACITY: usize = 100_000;

const FIRST_RECONNECT_DELAY: Duration = Duration::from_millis(100);
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(5);

pub struct ConfigCache {
    state: Mutex<State>,
    capacity: usize,
}

#[derive(Default)]
struct State {
    /// True between the watch stream's resync and its end.
    connected: bool,
    /// Bumped by every invalidation, so that a fetch which overlapped one is not cached:
    /// its answer may predate the change.
    generation: u64,
    entries: HashMap<Uuid, Arc<Webhook>>,
}

/// Permission to cache the answer of a fetch that starts now.
#[derive(Clone, Copy, Debug)]
pub struct FetchTicket {
    generation: Option<u64>,
}

impl ConfigCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::new(State::default()),
            capacity,
        }
    }

    /// The cached webhook, or a ticket for caching what the caller fetches instead.
    pub fn get(&self, workflow_id: Uuid) -> Result<Arc<Webhook>, FetchTicket> {
        let state = self.lock();
        if let Some(webhook) = state.entries.get(&workflow_id) {
            return Ok(Arc::clone(webhook));
        }
        Err(FetchTicket {
            generation: state.connected.then_some(state.generation),
        })
    }

    /// Caches a fetched webhook, unless the stream was down when the fetch started or
    /// anything was invalidated since.
    pub fn insert(&self, ticket: FetchTicket, webhook: Arc<Webhook>) {
        let mut state = self.lock();
        if !state.connected || ticket.generation != Some(state.generation) {
            return;
        }
        if state.entries.len() >= self.capacity && !state.entries.contains_key(&webhook.workflow_id)
        {
            // Evicting an arbitrary entry is enough: it is simply fetched again.
            if let Some(evicted) = state.entries.keys().next().copied() {
                state.entries.remove(&evicted);
            }
        }
        state.entries.insert(webhook.workflow_id, webhook);
    }

    /// Applies one message of the watch stream.
    pub fn apply(&self, change: &WebhookChange) {
        let mut state = self.lock();
        state.generation += 1;
        if change.resync {
            state.entries.clear();
            state.connected = true;
            return;
        }
        for workflow_id in &change.workflow_ids {
            match Uuid::try_parse(workflow_id) {
                Ok(workflow_id) => {
                    state.entries.remove(&workflow_id);
                }
                // An id we cannot read could name any entry.
                Err(_) => state.entries.clear(),
            }
        }
    }

    /// Drops one entry that turned out to be stale.
    pub fn forget(&self, workflow_id: Uuid) {
        let mut state = self.lock();
        state.generation += 1;
        state.entries.remove(&workflow_id);
    }

    /// The watch stream ended: nothing cached can be trusted any more.
    pub fn disconnect(&self) {
        let mut state = self.lock();
        state.generation += 1;
        state.connected = false;
        state.entries.clear();
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().entries.len()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent even if a holder panicked: every update is a
        // single step.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Holds the watch stream open for as long as the ingress runs, reconnecting with
/// backoff whenever it ends.
pub async fn watch(control: ControlClient, cache: Arc<ConfigCache>) {
    let mut delay = FIRST_RECONNECT_DELAY;
    loop {
        match control.watch_webhooks().await {
            Ok(mut stream) => loop {
                match stream.message().await {
                    Ok(Some(change)) => {
                        cache.apply(&change);
                        delay = FIRST_RECONNECT_DELAY;
                    }
                    Ok(None) => {
                        tracing::debug!("the webhook watch stream ended");
                        break;
                    }
                    Err(status) => {
                        control.warn_unreachable("watch webhook changes", &status);
                        break;
                    }
                }
            },
            Err(status) => control.warn_unreachable("watch webhook changes", &status),
        }

        cache.disconnect();
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(MAX_RECONNECT_DELAY);
    }
}

#[cfg(test)]
mod tests {
    use sluice_proto::v1::WebhookConfig;

    use super::*;

    fn webhook(id: u128) -> Arc<Webhook> {
        Arc::new(Webhook::from_config(
            WebhookConfig::default(),
            Uuid::from_u128(id),
        ))
    }

    fn resync() -> WebhookChange {
        WebhookChange {
            resync: true,
            workflow_ids: Vec::new(),
        }
    }

    fn changed(ids: &[u128]) -> WebhookChange {
        WebhookChange {
            resync: false,
            workflow_ids: ids
                .iter()
                .map(|id| Uuid::from_u128(*id).to_string())
                .collect(),
        }
    }

    fn fetch_and_insert(cache: &ConfigCache, id: u128) {
        let ticket = cache.get(Uuid::from_u128(id)).unwrap_err();
        cache.insert(ticket, webhook(id));
    }

    #[test]
    fn nothing_is_cached_before_the_stream_resyncs() {
        let cache = ConfigCache::new(10);
        fetch_and_insert(&cache, 1);
        assert!(cache.get(Uuid::from_u128(1)).is_err());
    }

    #[test]
    fn entries_are_served_while_connected() {
        let cache = ConfigCache::new(10);
        cache.apply(&resync());
        fetch_and_insert(&cache, 1);
        assert_eq!(
            cache.get(Uuid::from_u128(1)).unwrap().workflow_id,
            Uuid::from_u128(1)
        );
    }

    #[test]
    fn a_change_drops_only_its_workflows() {
        let cache = ConfigCache::new(10);
        cache.apply(&resync());
        fetch_and_insert(&cache, 1);
        fetch_and_insert(&cache, 2);
        cache.apply(&changed(&[1]));
        assert!(cache.get(Uuid::from_u128(1)).is_err());
        assert!(cache.get(Uuid::from_u128(2)).is_ok());
    }

    #[test]
    fn a_resync_drops_everything() {
        let cache = ConfigCache::new(10);
        cache.apply(&resync());
        fetch_and_insert(&cache, 1);
        cache.apply(&resync());
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn a_disconnect_drops_everything_and_stops_caching() {
        let cache = ConfigCache::new(10);
        cache.apply(&resync());
        fetch_and_insert(&cache, 1);
        cache.disconnect();
        assert_eq!(cache.len(), 0);
        fetch_and_insert(&cache, 1);
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn a_fetch_overlapping_a_change_is_not_cached() {
        let cache = ConfigCache::new(10);
        cache.apply(&resync());
        let ticket = cache.get(Uuid::from_u128(1)).unwrap_err();
        cache.apply(&changed(&[1]));
        cache.insert(ticket, webhook(1));
        assert!(cache.get(Uuid::from_u128(1)).is_err());
    }

    #[test]
    fn a_fetch_started_before_a_reconnect_is_not_cached() {
        let cache = ConfigCache::new(10);
        let ticket = cache.get(Uuid::from_u128(1)).unwrap_err();
        cache.apply(&resync());
        cache.insert(ticket, webhook(1));
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn an_unreadable_id_drops_everything() {
        let cache = ConfigCache::new(10);
        cache.apply(&resync());
        fetch_and_insert(&cache, 1);
        cache.apply(&WebhookChange {
            resync: false,
            workflow_ids: vec!["garbage".into()],
        });
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn the_cache_is_bounded() {
        let cache = ConfigCache::new(3);
        cache.apply(&resync());
        for id in 0..10 {
            fetch_and_insert(&cache, id);
        }
        assert_eq!(cache.len(), 3);
        assert!(cache.get(Uuid::from_u128(9)).is_ok());
    }
}
