//! Webhook configurations cached in memory, kept fresh by the control plane's watch
//! stream.
//!
//! Entries are used only while the stream is connected: a change made while it is down
//! could not be heard, so on disconnect everything is dropped and every request fetches
//! a fresh configuration until the stream is back. Staleness is therefore bounded by
//! the latency of the watch stream.
//!
//! Workflows the control plane said do not exist are remembered too, briefly and in a
//! bounded set, so that a flood of requests to wrong URLs costs no control-plane call
//! per request. Creating a workflow is announced on the watch stream like any change,
//! so a remembered absence never hides a new workflow for long.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use sluice_proto::v1::WebhookChange;
use uuid::Uuid;

use crate::{control::ControlClient, webhook::Webhook};

/// Enough for every webhook of a large deployment, small enough to bound memory.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// How many absent workflows are remembered at most, and for how long.
pub const ABSENT_CAPACITY: usize = 10_000;
pub const ABSENT_TTL: Duration = Duration::from_secs(10);

const FIRST_RECONNECT_DELAY: Duration = Duration::from_millis(100);
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(5);

pub struct ConfigCache {
    state: Mutex<State>,
    capacity: usize,
    absent_capacity: usize,
    absent_ttl: Duration,
}

#[derive(Default)]
struct State {
    /// True between the watch stream's resync and its end.
    connected: bool,
    /// Bumped by every invalidation, so that a fetch which overlapped one is not cached:
    /// its answer may predate the change.
    generation: u64,
    entries: HashMap<Uuid, Arc<Webhook>>,
    /// Workflows without a webhook, and when that was learnt.
    absent: HashMap<Uuid, Instant>,
}

/// What the cache knows about a workflow.
pub enum Lookup {
    Present(Arc<Webhook>),
    /// The control plane said recently that the workflow has no webhook.
    Absent,
    /// Unknown: fetch it, and cache the answer with the ticket.
    Missing(FetchTicket),
}

/// Permission to cache the answer of a fetch that starts now.
#[derive(Clone, Copy, Debug)]
pub struct FetchTicket {
    generation: Option<u64>,
}

impl ConfigCache {
    pub fn new(capacity: usize) -> Self {
        Self::with_absent(capacity, ABSENT_CAPACITY, ABSENT_TTL)
    }

    pub fn with_absent(capacity: usize, absent_capacity: usize, absent_ttl: Duration) -> Self {
        Self {
            state: Mutex::new(State::default()),
            capacity,
            absent_capacity,
            absent_ttl,
        }
    }

    /// The cached webhook or absence, or a ticket for caching what the caller fetches.
    pub fn get(&self, workflow_id: Uuid) -> Lookup {
        let mut state = self.lock();
        if let Some(webhook) = state.entries.get(&workflow_id) {
            return Lookup::Present(Arc::clone(webhook));
        }
        if let Some(learnt) = state.absent.get(&workflow_id) {
            if learnt.elapsed() < self.absent_ttl {
                return Lookup::Absent;
            }
            state.absent.remove(&workflow_id);
        }
        Lookup::Missing(FetchTicket {
            generation: state.connected.then_some(state.generation),
        })
    }

    /// Remembers that a workflow has no webhook, under the same conditions as
    /// [`Self::insert`].
    pub fn insert_absent(&self, ticket: FetchTicket, workflow_id: Uuid) {
        let mut state = self.lock();
        if !state.connected || ticket.generation != Some(state.generation) {
            return;
        }
        if state.absent.len() >= self.absent_capacity && !state.absent.contains_key(&workflow_id) {
            let ttl = self.absent_ttl;
            state.absent.retain(|_, learnt| learnt.elapsed() < ttl);
            if state.absent.len() >= self.absent_capacity
                && let Some(evicted) = state.absent.keys().next().copied()
            {
                state.absent.remove(&evicted);
            }
        }
        state.absent.insert(workflow_id, Instant::now());
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
            state.absent.clear();
            state.connected = true;
            return;
        }
        for workflow_id in &change.workflow_ids {
            match Uuid::try_parse(workflow_id) {
                Ok(workflow_id) => {
                    state.entries.remove(&workflow_id);
                    state.absent.remove(&workflow_id);
                }
                // An id we cannot read could name any entry.
                Err(_) => {
                    state.entries.clear();
                    state.absent.clear();
                }
            }
        }
    }

    /// Drops one entry that turned out to be stale.
    pub fn forget(&self, workflow_id: Uuid) {
        let mut state = self.lock();
        state.generation += 1;
        state.entries.remove(&workflow_id);
        state.absent.remove(&workflow_id);
    }

    /// The watch stream ended: nothing cached can be trusted any more.
    pub fn disconnect(&self) {
        let mut state = self.lock();
        state.generation += 1;
        state.connected = false;
        state.entries.clear();
        state.absent.clear();
    }

    /// Whether the watch stream is connected, which is what readiness reports.
    pub fn is_connected(&self) -> bool {
        self.lock().connected
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

    fn ticket(cache: &ConfigCache, id: u128) -> FetchTicket {
        match cache.get(Uuid::from_u128(id)) {
            Lookup::Missing(ticket) => ticket,
            _ => panic!("{id} is cached"),
        }
    }

    fn present(cache: &ConfigCache, id: u128) -> bool {
        matches!(cache.get(Uuid::from_u128(id)), Lookup::Present(_))
    }

    fn absent(cache: &ConfigCache, id: u128) -> bool {
        matches!(cache.get(Uuid::from_u128(id)), Lookup::Absent)
    }

    fn fetch_and_insert(cache: &ConfigCache, id: u128) {
        let ticket = ticket(cache, id);
        cache.insert(ticket, webhook(id));
    }

    #[test]
    fn nothing_is_cached_before_the_stream_resyncs() {
        let cache = ConfigCache::new(10);
        fetch_and_insert(&cache, 1);
        assert!(!present(&cache, 1));
    }

    #[test]
    fn entries_are_served_while_connected() {
        let cache = ConfigCache::new(10);
        cache.apply(&resync());
        fetch_and_insert(&cache, 1);
        let Lookup::Present(webhook) = cache.get(Uuid::from_u128(1)) else {
            panic!("not cached");
        };
        assert_eq!(webhook.workflow_id, Uuid::from_u128(1));
    }

    #[test]
    fn a_change_drops_only_its_workflows() {
        let cache = ConfigCache::new(10);
        cache.apply(&resync());
        fetch_and_insert(&cache, 1);
        fetch_and_insert(&cache, 2);
        cache.apply(&changed(&[1]));
        assert!(!present(&cache, 1));
        assert!(present(&cache, 2));
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
        let ticket = ticket(&cache, 1);
        cache.apply(&changed(&[1]));
        cache.insert(ticket, webhook(1));
        assert!(!present(&cache, 1));
    }

    #[test]
    fn a_fetch_started_before_a_reconnect_is_not_cached() {
        let cache = ConfigCache::new(10);
        let ticket = ticket(&cache, 1);
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
        assert!(present(&cache, 9));
    }

    #[test]
    fn an_absence_is_remembered_until_its_workflow_changes() {
        let cache = ConfigCache::new(10);
        cache.apply(&resync());
        let ticket = ticket(&cache, 1);
        cache.insert_absent(ticket, Uuid::from_u128(1));
        assert!(absent(&cache, 1));
        assert!(!absent(&cache, 2));
        cache.apply(&changed(&[1]));
        assert!(!absent(&cache, 1));
    }

    #[test]
    fn an_absence_expires() {
        let cache = ConfigCache::with_absent(10, 10, Duration::from_millis(20));
        cache.apply(&resync());
        let ticket = ticket(&cache, 1);
        cache.insert_absent(ticket, Uuid::from_u128(1));
        assert!(absent(&cache, 1));
        std::thread::sleep(Duration::from_millis(30));
        assert!(!absent(&cache, 1));
    }

    #[test]
    fn absences_are_bounded_and_dropped_on_disconnect() {
        let cache = ConfigCache::with_absent(10, 3, ABSENT_TTL);
        cache.apply(&resync());
        for id in 0..10 {
            let ticket = ticket(&cache, id);
            cache.insert_absent(ticket, Uuid::from_u128(id));
        }
        assert_eq!(cache.lock().absent.len(), 3);
        assert!(absent(&cache, 9));
        cache.disconnect();
        assert!(!absent(&cache, 9));
    }
}
