//! Numbered schema migrations, embedded in the binary and applied in order.
//!
//! Each migration runs in its own transaction together with the row that records it in
//! `schema_migrations`, so a failed migration leaves no trace and is retried next time.
//! Runners on several machines (a Job and a `sluice dev`, say) are serialized by a
//! session-level advisory lock.

use anyhow::Context;
use tokio_postgres::{Client, NoTls};

/// One schema change.
struct Migration {
    version: i32,
    name: &'static str,
    sql: &'static str,
}

/// Every migration, oldest first. Versions are never reused or reordered.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial_schema",
        sql: include_str!("../migrations/0001_initial_schema.sql"),
    },
    Migration {
        version: 2,
        name: "rotation_and_audit",
        sql: include_str!("../migrations/0002_rotation_and_audit.sql"),
    },
    Migration {
        version: 3,
        name: "worker_queue",
        sql: include_str!("../migrations/0003_worker_queue.sql"),
    },
    Migration {
        version: 4,
        name: "execution_retention",
        sql: include_str!("../migrations/0004_execution_retention.sql"),
    },
    Migration {
        version: 5,
        name: "lighter_execution_inserts",
        sql: include_str!("../migrations/0005_lighter_execution_inserts.sql"),
    },
    Migration {
        version: 6,
        name: "announced_executions",
        sql: include_str!("../migrations/0006_announced_executions.sql"),
    },
];

/// The advisory lock key every migration runner takes (`sluice` in ASCII, then 1).
const LOCK_KEY: i64 = 0x736c_7569_6365_0001;

/// Applies every migration that has not run yet.
pub async fn migrate(database_url: &str) -> anyhow::Result<()> {
    let config: tokio_postgres::Config = database_url.parse().context("parse the database URL")?;
    let (mut client, connection) = config
        .connect(NoTls)
        .await
        .context("connect to the database")?;
    let connection = tokio::spawn(connection);

    let result = apply_pending(&mut client).await;

    drop(client);
    // The connection task ends once the client is gone; its own error adds nothing to
    // the migration's result.
    let _ = connection.await;
    result
}

async fn apply_pending(client: &mut Client) -> anyhow::Result<()> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&LOCK_KEY])
        .await
        .context("take the migration lock")?;

    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    int         PRIMARY KEY,
                 applied_at timestamptz NOT NULL DEFAULT now()
             )",
        )
        .await
        .context("create the schema_migrations table")?;

    for migration in MIGRATIONS {
        apply(client, migration).await.with_context(|| {
            format!(
                "apply migration {:04}_{}",
                migration.version, migration.name
            )
        })?;
    }

    client
        .execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY])
        .await
        .context("release the migration lock")?;
    Ok(())
}

async fn apply(client: &mut Client, migration: &Migration) -> anyhow::Result<()> {
    let transaction = client.transaction().await?;
    let applied = transaction
        .query_opt(
            "SELECT 1 FROM schema_migrations WHERE version = $1",
            &[&migration.version],
        )
        .await?
        .is_some();
    if applied {
        return Ok(());
    }

    transaction.batch_execute(migration.sql).await?;
    transaction
        .execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[&migration.version],
        )
        .await?;
    transaction.commit().await?;

    tracing::info!(
        version = migration.version,
        name = migration.name,
        "applied migration"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_start_at_one_and_increase() {
        assert_eq!(MIGRATIONS[0].version, 1);
        for pair in MIGRATIONS.windows(2) {
            assert!(pair[0].version < pair[1].version, "{}", pair[1].name);
        }
    }

    #[test]
    fn every_migration_file_is_embedded() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.ends_with(".sql"))
            .collect();
        files.sort();

        let embedded: Vec<String> = MIGRATIONS
            .iter()
            .map(|m| format!("{:04}_{}.sql", m.version, m.name))
            .collect();
        assert_eq!(files, embedded);
    }
}
