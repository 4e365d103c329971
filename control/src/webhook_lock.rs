//! The lock that orders execution inserts against changes to a webhook.
//!
//! An insert takes it shared for each webhook it writes to before it reads their
//! status; a change takes it exclusively before it writes. So a change waits for the
//! inserts in flight, and an insert that starts after a change read the status the change
//! committed: once "offline" has committed, nothing more is created.
//!
//! These are transaction-scoped advisory locks. Unlike a row lock (`FOR SHARE`), they
//! live only in PostgreSQL's lock table: no write to the webhook row, no WAL record,
//! and no multixact when many inserts hold them at once.

use deadpool_postgres::Transaction;
use uuid::Uuid;

/// The first half of every key (`sluc` in ASCII), which keeps these locks apart from
/// any other advisory locks taken in the same database.
const NAMESPACE: i32 = 0x736c_7563;

/// Takes the shared lock of each workflow's webhook; `keys` must come from [`keys`].
pub const SHARED: &str =
    "SELECT pg_advisory_xact_lock_shared(1936487779, key) FROM unnest($1::int[]) AS key";

/// The lock keys of `workflows`, each once and in one order, so that inserts taking
/// several never wait on one another in a cycle.
pub fn keys(workflows: impl IntoIterator<Item = Uuid>) -> Vec<i32> {
    let mut keys: Vec<i32> = workflows.into_iter().map(key).collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Two webhooks rarely share a key; when they do, their changes and inserts wait for
/// each other a little more than needed, which is harmless.
fn key(workflow: Uuid) -> i32 {
    let bytes = workflow.as_bytes();
    i32::from_be_bytes([bytes[12], bytes[13], bytes[14], bytes[15]])
}

/// Takes the exclusive lock of a workflow's webhook until the transaction ends.
pub async fn exclusive(
    transaction: &Transaction<'_>,
    workflow: Uuid,
) -> Result<(), tokio_postgres::Error> {
    let statement = transaction
        .prepare_cached("SELECT pg_advisory_xact_lock($1, $2)")
        .await?;
    transaction
        .execute(&statement, &[&NAMESPACE, &key(workflow)])
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_statement_uses_the_namespace() {
        assert!(SHARED.contains(&NAMESPACE.to_string()));
    }

    #[test]
    fn keys_are_sorted_and_unique() {
        let a = Uuid::from_u128(0x0000_0002);
        let b = Uuid::from_u128(0x0000_0001);
        assert_eq!(keys([a, b, a]), vec![1, 2]);
    }
}
