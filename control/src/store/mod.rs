//! The connection pool and the one error type every database call returns.

mod error;
mod health;

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

pub use error::StoreError;
use health::Health;

/// How long a call waits for a pooled connection, or for a new one to be opened,
/// before the database counts as unavailable.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);

/// The database, as every component of the control plane reaches it.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    health: Arc<Health>,
}

impl Store {
    /// A pool that opens connections on first use, so the control plane starts (and
    /// answers UNAVAILABLE) while the database is down.
    pub fn connect_lazy(database_url: &str, pool_size: usize) -> anyhow::Result<Self> {
        let mut config: tokio_postgres::Config =
            database_url.parse().context("parse the database URL")?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECTION_TIMEOUT);
        }

        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(CONNECTION_TIMEOUT))
            .create_timeout(Some(CONNECTION_TIMEOUT))
            .recycle_timeout(Some(CONNECTION_TIMEOUT))
            .build()
            .context("build the database pool")?;

        Ok(Self {
            pool,
            health: Arc::new(Health::default()),
        })
    }

    /// How many connections are open, idle and waited for.
    pub fn pool_status(&self) -> deadpool_postgres::Status {
        self.pool.status()
    }

    /// A pooled connection.
    pub async fn client(&self) -> Result<Object, StoreError> {
        match self.pool.get().await {
            Ok(client) => {
                self.health.reachable();
                Ok(client)
            }
            Err(error) => Err(StoreError::from(error)),
        }
    }

    /// Records a failed call, logging once per outage rather than once per call while
    /// the database is unreachable.
    pub fn report(&self, error: &StoreError) {
        match error {
            StoreError::Unavailable(source) => self.health.unreachable(source.as_ref()),
            StoreError::Query(source) => {
                tracing::error!(error = %DisplayChain(source), "database query failed");
            }
        }
    }
}

/// An error with its sources, `outer: inner: innermost`.
pub struct DisplayChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for DisplayChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(error) = source {
            write!(f, ": {error}")?;
            source = error.source();
        }
        Ok(())
    }
}
