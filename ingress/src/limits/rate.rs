//! Token buckets per webhook. Each webhook has a main bucket every request draws from
//! and a small reserve only handshakes may draw from once the main bucket is empty.

use std::{
    collections::HashMap,
    sync::{Mutex, MutexGuard},
    time::{Duration, Instant},
};

use uuid::Uuid;

use super::RateLimit;

/// Tokens of the handshake reserve, refilled at one a second.
const HANDSHAKE_RESERVE: f64 = 5.0;
const RESERVE_PER_SECOND: f64 = 1.0;

/// Buckets for at most this many webhooks; beyond it full buckets are forgotten first.
const MAX_BUCKETS: usize = 100_000;

/// What the main bucket said about a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    Admitted,
    /// Empty: the request may go on only as a handshake, drawing on the reserve.
    Exhausted {
        retry_after: Duration,
    },
}

pub struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<Uuid, Buckets>>,
}

struct Buckets {
    main: f64,
    reserve: f64,
    updated: Instant,
}

impl RateLimiter {
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token from the webhook's main bucket.
    pub fn admit(&self, webhook: Uuid) -> Admission {
        let mut buckets = self.lock();
        let limit = self.limit;
        let bucket = refill(&mut buckets, webhook, limit);
        if bucket.main >= 1.0 {
            bucket.main -= 1.0;
            return Admission::Admitted;
        }
        let wait = (1.0 - bucket.main) / limit.per_second;
        Admission::Exhausted {
            retry_after: Duration::from_secs_f64(wait.clamp(0.0, 3_600.0)),
        }
    }

    /// Takes a token from the webhook's handshake reserve; false when it is empty too.
    pub fn admit_handshake(&self, webhook: Uuid) -> bool {
        let mut buckets = self.lock();
        let bucket = refill(&mut buckets, webhook, self.limit);
        if bucket.reserve >= 1.0 {
            bucket.reserve -= 1.0;
            true
        } else {
            false
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Uuid, Buckets>> {
        // Every update is a single step, so a panicked holder leaves nothing half-done.
        self.buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The webhook's buckets, topped up for the time that passed since they were last used.
fn refill(buckets: &mut HashMap<Uuid, Buckets>, webhook: Uuid, limit: RateLimit) -> &mut Buckets {
    let burst = f64::from(limit.burst.get());
    let now = Instant::now();
    if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(&webhook) {
        // A bucket that would be full by now holds no information.
        let full_after = Duration::from_secs_f64(burst / limit.per_second);
        buckets.retain(|_, bucket| now.duration_since(bucket.updated) < full_after);
        if buckets.len() >= MAX_BUCKETS
            && let Some(any) = buckets.keys().next().copied()
        {
            buckets.remove(&any);
        }
    }
    let bucket = buckets.entry(webhook).or_insert(Buckets {
        main: burst,
        reserve: HANDSHAKE_RESERVE,
        updated: now,
    });
    let elapsed = now.duration_since(bucket.updated).as_secs_f64();
    bucket.main = (bucket.main + elapsed * limit.per_second).min(burst);
    bucket.reserve = (bucket.reserve + elapsed * RESERVE_PER_SECOND).min(HANDSHAKE_RESERVE);
    bucket.updated = now;
    bucket
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    fn limiter(per_second: f64, burst: u32) -> RateLimiter {
        RateLimiter::new(RateLimit {
            per_second,
            burst: NonZeroU32::new(burst).unwrap(),
        })
    }

    #[test]
    fn a_burst_is_admitted_then_requests_wait() {
        let limiter = limiter(1.0, 3);
        let webhook = Uuid::from_u128(1);
        for _ in 0..3 {
            assert_eq!(limiter.admit(webhook), Admission::Admitted);
        }
        let Admission::Exhausted { retry_after } = limiter.admit(webhook) else {
            panic!("admitted beyond the burst");
        };
        assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_secs(1));
        // Another webhook has its own bucket.
        assert_eq!(limiter.admit(Uuid::from_u128(2)), Admission::Admitted);
    }

    #[test]
    fn handshakes_have_a_reserve_once_the_bucket_is_empty() {
        let limiter = limiter(0.001, 1);
        let webhook = Uuid::from_u128(1);
        assert_eq!(limiter.admit(webhook), Admission::Admitted);
        assert!(matches!(
            limiter.admit(webhook),
            Admission::Exhausted { .. }
        ));
        for _ in 0..5 {
            assert!(limiter.admit_handshake(webhook));
        }
        assert!(!limiter.admit_handshake(webhook));
    }

    #[test]
    fn the_bucket_refills_over_time() {
        let limiter = limiter(100.0, 1);
        let webhook = Uuid::from_u128(1);
        assert_eq!(limiter.admit(webhook), Admission::Admitted);
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(limiter.admit(webhook), Admission::Admitted);
    }
}
