//! The failures of a database call, split by what a caller can do about them.

use deadpool_postgres::PoolError;
use tokio_postgres::error::SqlState;

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or the connection was lost: worth retrying.
    #[error("database unavailable")]
    Unavailable(#[source] Source),
    /// The database answered with an error: a bug or a broken schema.
    #[error("database query failed")]
    Query(#[source] tokio_postgres::Error),
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(error: tokio_postgres::Error) -> Self {
        let unavailable = match error.code() {
            Some(code) => is_unavailable(code),
            None => is_connection_failure(&error),
        };
        if unavailable {
            Self::Unavailable(Box::new(error))
        } else {
            Self::Query(error)
        }
    }
}

impl From<PoolError> for StoreError {
    fn from(error: PoolError) -> Self {
        match error {
            PoolError::Backend(error) => Self::from(error),
            other => Self::Unavailable(Box::new(other)),
        }
    }
}

/// Errors raised without an answer from the server: it could not be reached, the
/// connection broke or it did not answer in time. (Everything else without a server
/// answer, such as a type mismatch, is a bug in the query.)
fn is_connection_failure(error: &tokio_postgres::Error) -> bool {
    use std::error::Error as _;

    error.is_closed()
        || error
            .source()
            .is_some_and(|source| source.is::<std::io::Error>())
        || error.to_string() == "timeout waiting for server"
}

/// Server answers that mean "not now" rather than "never": connection failures, a
/// server shutting down or starting up, and too many clients.
fn is_unavailable(code: &SqlState) -> bool {
    // Class 08 is connection exceptions, 28 invalid credentials (a deployment fault the
    // caller can only wait out).
    matches!(code.code().get(..2), Some("08" | "28"))
        || [
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::TOO_MANY_CONNECTIONS,
            SqlState::DATABASE_DROPPED,
        ]
        .contains(code)
}
