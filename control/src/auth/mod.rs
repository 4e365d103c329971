//! Who may call the control plane. Every gRPC call carries a bearer token in its
//! `authorization` metadata; the token names a credential, the credential has a role,
//! and each service is open to some roles only (`access`). A call without a known
//! token is UNAUTHENTICATED, a call whose role may not use the service is
//! PERMISSION_DENIED. Health checks and reflection stay open, because they reveal
//! nothing and load balancers probe them without credentials.

mod access;
mod layer;
mod tokens;

use std::fmt;

pub use layer::AuthLayer;
pub use tokens::Credentials;

/// What a credential may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The ingress: webhook configurations, execution creation, the change watch.
    Ingress,
    /// People and internal services administering workflows and webhooks.
    Admin,
    /// Workers that run executions.
    Worker,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ingress => "ingress",
            Self::Admin => "admin",
            Self::Worker => "worker",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One accepted token, with the name audit records use for it.
#[derive(Clone)]
pub struct Credential {
    pub name: String,
    pub role: Role,
    pub token: String,
}

impl fmt::Debug for Credential {
    // Written by hand so that the token cannot reach a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// How callers are authenticated.
#[derive(Clone, Debug)]
pub enum Authentication {
    /// Only callers presenting one of these tokens are served.
    Tokens(Vec<Credential>),
    /// Every caller is served with every role. Only for a control plane that nothing
    /// untrusted can reach.
    Disabled,
}

/// The authenticated caller of a call, put into the request's extensions for the
/// services (and their audit records) to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    pub role: Option<Role>,
}

impl Caller {
    /// The caller of a control plane that runs without authentication.
    pub fn anonymous() -> Self {
        Self {
            name: "anonymous".to_owned(),
            role: None,
        }
    }

    /// The caller recorded on `request`, or anonymous when there is none.
    pub fn of<T>(request: &tonic::Request<T>) -> Self {
        request
            .extensions()
            .get::<Self>()
            .cloned()
            .unwrap_or_else(Self::anonymous)
    }
}
