//! The failures of a control-plane call and the one place they become gRPC statuses.

use tonic::Status;

use crate::store::{Store, StoreError};

/// Why a call failed. Messages of the user-facing variants are meant for a person and
/// are sent as they are; store failures are logged and sent without details.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Workflow not found: {0}")]
    WorkflowNotFound(String),
    #[error("Execution not found: {0}")]
    ExecutionNotFound(String),
    /// The request is malformed or breaks a rule; the message says which.
    #[error("{0}")]
    InvalidArgument(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A fault of this process, not of the request or the database.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl Error {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidArgument(message.into())
    }
}

impl From<tokio_postgres::Error> for Error {
    fn from(error: tokio_postgres::Error) -> Self {
        Self::Store(StoreError::from(error))
    }
}

/// The status a caller sees for `error`. A store failure is logged here, where it is
/// handled, and reaches the caller only as its kind.
pub fn status(error: Error, store: &Store) -> Status {
    match error {
        Error::WorkflowNotFound(_) | Error::ExecutionNotFound(_) => {
            Status::not_found(error.to_string())
        }
        Error::InvalidArgument(message) => Status::invalid_argument(message),
        Error::Internal(error) => {
            tracing::error!(error = format!("{error:#}"), "internal error");
            Status::internal("internal error")
        }
        Error::Store(error) => {
            store.report(&error);
            match error {
                StoreError::Unavailable(_) => Status::unavailable("database unavailable"),
                StoreError::Query(_) => Status::internal("internal error"),
            }
        }
    }
}
