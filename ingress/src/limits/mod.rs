//! The ingress's defences against being overrun: a rate limit per webhook, a bound on
//! the requests in flight, and the connection-level limits the server applies (header
//! size and count, header read timeout, connection count).

mod rate;

use std::{num::NonZeroU32, sync::Arc, time::Duration};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub use rate::{Admission, RateLimiter};

/// How many requests a webhook may receive: `per_second` on average, up to `burst` at
/// once. Handshakes have a small reserve of their own on top, so that a sender flooding
/// a webhook cannot keep its owner from re-verifying the URL.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: NonZeroU32,
}

/// Limits on connections and request heads, applied by the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Open connections at most; further ones are closed as soon as they are accepted.
    pub max_connections: usize,
    /// Header fields per request at most; more is answered 431.
    pub max_headers: usize,
    /// The bytes of a request head at most (at least 8192); more is answered 431.
    pub max_header_bytes: usize,
    /// A client that has not sent its whole request head by then is disconnected; this
    /// also ends a kept-alive connection that sends nothing further.
    pub header_read_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 10_000,
            max_headers: 100,
            max_header_bytes: 64 * 1024,
            header_read_timeout: Duration::from_secs(30),
        }
    }
}

/// A bound on the requests being answered at once; beyond it requests are shed with 503
/// at once rather than queued, so a burst cannot build up an unbounded backlog.
pub struct InFlight {
    permits: Arc<Semaphore>,
}

impl InFlight {
    pub fn new(max: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max.max(1))),
        }
    }

    /// Permission to answer one request, held until the answer is complete; `None`
    /// when the bound is reached.
    pub fn try_enter(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.permits).try_acquire_owned().ok()
    }
}
