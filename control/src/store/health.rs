//! Whether the database was reachable at the last attempt, so that an outage is logged
//! when it starts and when it ends instead of on every failed call.

use std::sync::atomic::{AtomicBool, Ordering};

use super::DisplayChain;

#[derive(Default)]
pub struct Health {
    down: AtomicBool,
}

impl Health {
    pub fn unreachable(&self, error: &(dyn std::error::Error + 'static)) {
        if !self.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(error = %DisplayChain(error), "database unavailable");
        } else {
            tracing::debug!(error = %DisplayChain(error), "database still unavailable");
        }
    }

    pub fn reachable(&self) {
        if self.down.swap(false, Ordering::Relaxed) {
            tracing::info!("database reachable again");
        }
    }
}
