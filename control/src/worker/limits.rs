//! The bounds a worker's request must stay within.

use std::time::Duration;

use crate::error::Error;

const MAX_BATCH: u32 = 1000;
const MAX_WORKER_ID_BYTES: usize = 200;
pub const MAX_REASON_BYTES: usize = 4096;
const SHORTEST_LEASE: Duration = Duration::from_secs(1);
const LONGEST_LEASE: Duration = Duration::from_secs(3600);

pub fn worker_id(worker_id: &str) -> Result<&str, Error> {
    if worker_id.is_empty() || worker_id.len() > MAX_WORKER_ID_BYTES {
        return Err(Error::invalid(
            "worker_id must be between 1 and 200 bytes long",
        ));
    }
    Ok(worker_id)
}

pub fn batch(max_executions: u32) -> Result<i64, Error> {
    match max_executions {
        1..=MAX_BATCH => Ok(i64::from(max_executions)),
        _ => Err(Error::invalid("max_executions must be between 1 and 1000")),
    }
}

pub fn lease(duration: Option<prost_types::Duration>) -> Result<Duration, Error> {
    let invalid = || Error::invalid("lease_duration must be between 1 second and 1 hour");
    let duration = duration.ok_or_else(invalid)?;
    let duration = Duration::try_from(duration).map_err(|_| invalid())?;
    if (SHORTEST_LEASE..=LONGEST_LEASE).contains(&duration) {
        Ok(duration)
    } else {
        Err(invalid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seconds(seconds: i64) -> Option<prost_types::Duration> {
        Some(prost_types::Duration { seconds, nanos: 0 })
    }

    #[test]
    fn lease_durations_outside_one_second_to_one_hour_are_refused() {
        assert!(lease(None).is_err());
        assert!(lease(seconds(0)).is_err());
        assert!(lease(seconds(-5)).is_err());
        assert!(lease(seconds(3601)).is_err());
        assert_eq!(lease(seconds(1)).unwrap(), Duration::from_secs(1));
        assert_eq!(lease(seconds(3600)).unwrap(), Duration::from_secs(3600));
    }

    #[test]
    fn batches_hold_one_to_a_thousand() {
        assert!(batch(0).is_err());
        assert!(batch(1001).is_err());
        assert_eq!(batch(1000).unwrap(), 1000);
    }

    #[test]
    fn worker_ids_are_non_empty_and_bounded() {
        assert!(worker_id("").is_err());
        assert!(worker_id(&"w".repeat(201)).is_err());
        assert_eq!(worker_id("worker-1").unwrap(), "worker-1");
    }
}
