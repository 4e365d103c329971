//! The tower layer in front of every gRPC service: it reads the path and the bearer
//! token of each call and either refuses it or passes it on with its [`Caller`].

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use http::{Request, Response, header::AUTHORIZATION};
use tonic::Status;
use tower::{Layer, Service};

use super::{
    Authentication, Caller, Credentials,
    access::{self, Access},
};

#[derive(Clone)]
pub struct AuthLayer {
    /// `None` when authentication is disabled.
    credentials: Option<Arc<Credentials>>,
}

impl AuthLayer {
    pub fn new(authentication: &Authentication) -> Self {
        let credentials = match authentication {
            Authentication::Tokens(credentials) => Some(Arc::new(Credentials::new(credentials))),
            Authentication::Disabled => None,
        };
        Self { credentials }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Authenticated<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authenticated {
            inner,
            credentials: self.credentials.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Authenticated<S> {
    inner: S,
    credentials: Option<Arc<Credentials>>,
}

impl<S, B> Service<Request<B>> for Authenticated<S>
where
    S: Service<Request<B>, Response = Response<tonic::body::Body>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        match self.admit(&request) {
            Ok(caller) => {
                request.extensions_mut().insert(caller);
                Box::pin(self.inner.call(request))
            }
            Err(status) => {
                tracing::debug!(
                    path = request.uri().path(),
                    code = ?status.code(),
                    "refused a control plane call"
                );
                Box::pin(std::future::ready(Ok(status.into_http())))
            }
        }
    }
}

impl<S> Authenticated<S> {
    /// The caller of `request` if it may make the call, else the refusal.
    fn admit<B>(&self, request: &Request<B>) -> Result<Caller, Status> {
        let Some(credentials) = &self.credentials else {
            return Ok(Caller::anonymous());
        };
        let path = request.uri().path();
        let roles = match access::of(path) {
            Access::Open => return Ok(Caller::anonymous()),
            Access::Roles(roles) => roles,
        };
        let token = bearer_token(request)
            .ok_or_else(|| Status::unauthenticated("a bearer token is required"))?;
        let caller = credentials
            .identify(token)
            .ok_or_else(|| Status::unauthenticated("the bearer token is not valid"))?;
        match caller.role {
            Some(role) if roles.contains(&role) => Ok(caller),
            _ => Err(Status::permission_denied(format!(
                "the credential {:?} may not call {path}",
                caller.name
            ))),
        }
    }
}

/// The token of an `authorization: Bearer <token>` header.
fn bearer_token<B>(request: &Request<B>) -> Option<&str> {
    let value = request.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}
