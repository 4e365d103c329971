//! The ingress's client of the control plane: timeouts, retries and error mapping.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::Context;
use sluice_proto::v1::{
    CreateExecutionRequest, CreateExecutionResponse, GetWebhookConfigRequest, WatchWebhooksRequest,
    WebhookChange, WebhookConfig, ingress_control_client::IngressControlClient,
};
use tonic::{
    Code, Request, Status, Streaming,
    metadata::{Ascii, MetadataValue},
    transport::{Channel, Endpoint},
};
use uuid::Uuid;

use crate::{
    batching::Batcher,
    control_tls::{self, ControlTls},
    credential::ControlToken,
};

/// Pause before the first retry of a failed call; doubled after each failure.
const FIRST_BACKOFF: Duration = Duration::from_millis(25);
const MAX_BACKOFF: Duration = Duration::from_millis(500);

/// At most one "unreachable" warning per this interval, however many requests fail.
const WARN_INTERVAL: Duration = Duration::from_secs(5);

/// What a caller of the control plane needs to branch on.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// Unreachable, too slow, or failing: the sender should retry later.
    #[error("the control plane is unavailable")]
    Unavailable,
    /// The control plane refused the request's content (a trigger it cannot store).
    #[error("the control plane refused the request as invalid")]
    InvalidArgument,
    /// The workflow or its webhook does not exist.
    #[error("the webhook does not exist")]
    NotFound,
}

/// A cheap-to-clone handle on the control plane.
#[derive(Clone)]
pub struct ControlClient {
    client: IngressControlClient<Channel>,
    timeout: Duration,
    /// The `authorization` metadata of every call, when a token is configured.
    authorization: Option<MetadataValue<Ascii>>,
    /// Carries creations, gathering concurrent ones into shared calls.
    creations: Batcher,
    warnings: Arc<WarningThrottle>,
}

impl ControlClient {
    /// Prepares a client without connecting, so the ingress starts (and answers 503)
    /// while the control plane is still down; the channel connects on first use and
    /// reconnects by itself. Must be called within a Tokio runtime.
    pub fn connect_lazy(
        url: &str,
        timeout: Duration,
        token: Option<&ControlToken>,
        tls: Option<&ControlTls>,
    ) -> anyhow::Result<Self> {
        let authorization = token.map(ControlToken::authorization).transpose()?;
        let endpoint = Endpoint::from_shared(url.to_owned())
            .with_context(|| format!("parse the control plane URL {url:?}"))?
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .tcp_nodelay(true)
            // Keepalives make a vanished control plane end the watch stream promptly,
            // which in turn stops the use of cached configurations.
            .http2_keep_alive_interval(Duration::from_secs(10))
            .keep_alive_timeout(Duration::from_secs(5))
            .keep_alive_while_idle(true);
        let endpoint = control_tls::secure(endpoint, url, tls)?;
        let client = IngressControlClient::new(endpoint.connect_lazy());
        Ok(Self {
            creations: Batcher::spawn(client.clone(), authorization.clone()),
            client,
            timeout,
            authorization,
            warnings: Arc::new(WarningThrottle::default()),
        })
    }

    /// The configuration of a workflow's webhook; `None` when it has none.
    ///
    /// Transient failures are retried like a creation's, so a control plane that is
    /// being restarted (a rolling deploy) costs senders a short wait, not a 503.
    pub async fn webhook_config(
        &self,
        workflow_id: Uuid,
    ) -> Result<Option<WebhookConfig>, ControlError> {
        let message = GetWebhookConfigRequest {
            workflow_id: workflow_id.to_string(),
        };
        let answer = self
            .retrying(
                |timeout, message| {
                    self.call(
                        timeout,
                        |mut client, request| async move { client.get_webhook_config(request).await },
                        message,
                    )
                },
                message,
            )
            .await;
        match answer {
            Ok(config) => Ok(Some(config)),
            Err(status) if status.code() == Code::NotFound => Ok(None),
            Err(status) => {
                self.warn_unreachable("fetch a webhook configuration", &status);
                Err(ControlError::Unavailable)
            }
        }
    }

    /// Creates the executions of one request, retrying transient failures with the same
    /// `request_id` (creation is idempotent on it) until the timeout runs out. Attempts
    /// of concurrent requests may share a call.
    pub async fn create_execution(
        &self,
        message: CreateExecutionRequest,
    ) -> Result<CreateExecutionResponse, ControlError> {
        let answer = self
            .retrying(
                |timeout, message| self.creations.create(message, timeout),
                message,
            )
            .await;
        match answer {
            Ok(response) => Ok(response),
            Err(status) => match status.code() {
                Code::InvalidArgument => Err(ControlError::InvalidArgument),
                Code::NotFound => Err(ControlError::NotFound),
                _ => {
                    self.warn_unreachable("create executions", &status);
                    Err(ControlError::Unavailable)
                }
            },
        }
    }

    /// Attempts until an answer that is not a transient failure, or until the timeout
    /// has run out, with a doubling pause between attempts. Each attempt gets the time
    /// that is left. Returns the last failure.
    async fn retrying<M, R, A, Fut>(&self, attempt: A, message: M) -> Result<R, Status>
    where
        M: Clone,
        A: Fn(Duration, M) -> Fut,
        Fut: Future<Output = Result<R, Status>>,
    {
        let deadline = Instant::now() + self.timeout;
        let mut backoff = FIRST_BACKOFF;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let status = match attempt(remaining, message.clone()).await {
                Ok(response) => return Ok(response),
                Err(status) => status,
            };
            let remaining = deadline.saturating_duration_since(Instant::now());
            if !is_transient(status.code()) || remaining <= backoff {
                return Err(status);
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Opens the stream of webhook changes. Only opening is bounded by the timeout: the
    /// stream itself is meant to stay open indefinitely.
    pub async fn watch_webhooks(&self) -> Result<Streaming<WebhookChange>, Status> {
        let mut client = self.client.clone();
        let request = self.request(WatchWebhooksRequest {});
        let opened = tokio::time::timeout(self.timeout, client.watch_webhooks(request)).await;
        match opened {
            Ok(result) => result.map(tonic::Response::into_inner),
            Err(_) => Err(Status::deadline_exceeded(
                "opening the watch stream timed out",
            )),
        }
    }

    /// Logs that the control plane failed, at most once per [`WARN_INTERVAL`]; a flood
    /// of requests during an outage would otherwise flood the log.
    pub fn warn_unreachable(&self, action: &str, status: &Status) {
        if self.warnings.ready() {
            tracing::warn!(
                code = ?status.code(),
                error = status.message(),
                "cannot {action}: the control plane is unavailable"
            );
        }
    }

    /// One call bounded by `timeout`, both as the gRPC deadline sent to the server and
    /// as a local limit that holds even when the server never answers.
    async fn call<M, R, F, Fut>(&self, timeout: Duration, send: F, message: M) -> Result<R, Status>
    where
        F: Fn(IngressControlClient<Channel>, Request<M>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<R>, Status>>,
    {
        if timeout.is_zero() {
            return Err(Status::deadline_exceeded(
                "no time left for the control plane",
            ));
        }
        let mut request = self.request(message);
        request.set_timeout(timeout);
        // Makes the control plane's spans of this call children of the request's span.
        sluice_telemetry::propagation::inject(request.metadata_mut());
        bounded(timeout, send(self.client.clone(), request)).await
    }
}

impl ControlClient {
    /// A request carrying the ingress's credential.
    fn request<M>(&self, message: M) -> Request<M> {
        authorized(message, self.authorization.as_ref())
    }
}

/// A request carrying `authorization`, when there is one.
pub(crate) fn authorized<M>(
    message: M,
    authorization: Option<&MetadataValue<Ascii>>,
) -> Request<M> {
    let mut request = Request::new(message);
    if let Some(authorization) = authorization {
        request
            .metadata_mut()
            .insert("authorization", authorization.clone());
    }
    request
}

/// The answer to a call, bounded by `timeout` here as well: the deadline the call
/// carries holds only if the server honours it.
pub(crate) async fn bounded<R>(
    timeout: Duration,
    call: impl Future<Output = Result<tonic::Response<R>, Status>>,
) -> Result<R, Status> {
    match tokio::time::timeout(timeout, call).await {
        Ok(result) => result.map(tonic::Response::into_inner),
        Err(_) => Err(Status::deadline_exceeded(
            "the control plane did not answer in time",
        )),
    }
}

/// Failures that may go away on their own, where retrying is worth it.
fn is_transient(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable
            | Code::DeadlineExceeded
            | Code::Unknown
            | Code::Cancelled
            | Code::Aborted
            | Code::ResourceExhausted
    )
}

#[derive(Default)]
struct WarningThrottle {
    last: Mutex<Option<Instant>>,
}

impl WarningThrottle {
    fn ready(&self) -> bool {
        let Ok(mut last) = self.last.lock() else {
            return true;
        };
        let now = Instant::now();
        match *last {
            Some(previous) if now.duration_since(previous) < WARN_INTERVAL => false,
            _ => {
                *last = Some(now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_are_throttled() {
        let throttle = WarningThrottle::default();
        assert!(throttle.ready());
        assert!(!throttle.ready());
        *throttle.last.lock().unwrap() = Some(Instant::now() - WARN_INTERVAL);
        assert!(throttle.ready());
    }

    #[test]
    fn only_transient_codes_are_retried() {
        assert!(is_transient(Code::Unavailable));
        assert!(is_transient(Code::DeadlineExceeded));
        assert!(!is_transient(Code::InvalidArgument));
        assert!(!is_transient(Code::PermissionDenied));
    }

    #[tokio::test]
    async fn an_unreachable_control_plane_is_unavailable_within_the_timeout() {
        // Port 9 on loopback (discard) is closed on any ordinary machine.
        let client = ControlClient::connect_lazy(
            "http://127.0.0.1:9",
            Duration::from_millis(300),
            None,
            None,
        )
        .unwrap();
        let started = Instant::now();
        assert_eq!(
            client.webhook_config(Uuid::nil()).await,
            Err(ControlError::Unavailable)
        );
        let created = client
            .create_execution(CreateExecutionRequest::default())
            .await;
        assert_eq!(created, Err(ControlError::Unavailable));
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn a_malformed_url_is_refused() {
        assert!(
            ControlClient::connect_lazy("not a url", Duration::from_secs(1), None, None).is_err()
        );
    }
}
