//! The gRPC services: request parsing, one span per call and the mapping of failures
//! to statuses. The rules themselves live in the domain modules.

mod admin;
mod ingress;

use tokio::sync::watch;

use crate::{
    error::{self, Error},
    group_commit::GroupCommit,
    key_use::KeyUse,
    metrics::Metrics,
    store::Store,
    url_secrets::UrlSecrets,
    watch::Changes,
};

pub use admin::AdminService;
pub use ingress::IngressControlService;

/// What every call of either service may need.
#[derive(Clone)]
pub struct Shared {
    pub store: Store,
    pub executions: GroupCommit,
    pub urls: UrlSecrets,
    pub changes: Changes,
    pub key_use: KeyUse,
    pub shutdown: watch::Receiver<bool>,
    pub metrics: Metrics,
}

impl Shared {
    fn status(&self, error: Error) -> tonic::Status {
        error::status(error, &self.store)
    }
}
