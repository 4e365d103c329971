//! One span and one metric sample per gRPC call, around every service.
//!
//! The span joins the caller's trace when the call carries W3C trace context, so the
//! spans of the services (and their database spans) nest under the ingress request
//! that caused them.

use std::{
    collections::HashSet,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};

use prost::Message;

use tower::{Layer, Service};
use tracing::{Instrument, field::Empty};

use crate::metrics::Metrics;

#[derive(Clone)]
pub struct CallTelemetryLayer {
    metrics: Metrics,
    methods: Arc<HashSet<String>>,
}

impl CallTelemetryLayer {
    pub fn new(metrics: Metrics) -> Self {
        Self {
            metrics,
            methods: Arc::new(served_methods()),
        }
    }
}

/// The path of every method the server serves. Any other path is labelled `unknown`:
/// naming it would let any caller, authenticated or not, create new time series.
fn served_methods() -> HashSet<String> {
    let mut methods: HashSet<String> = [
        "/grpc.health.v1.Health/Check",
        "/grpc.health.v1.Health/Watch",
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    let files = prost_types::FileDescriptorSet::decode(sluice_proto::FILE_DESCRIPTOR_SET)
        .map(|set| set.file)
        .unwrap_or_default();
    for file in files {
        for service in &file.service {
            for method in &service.method {
                methods.insert(format!(
                    "/{}.{}/{}",
                    file.package(),
                    service.name(),
                    method.name()
                ));
            }
        }
    }
    methods
}

impl<S> Layer<S> for CallTelemetryLayer {
    type Service = CallTelemetry<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CallTelemetry {
            inner,
            metrics: self.metrics.clone(),
            methods: Arc::clone(&self.methods),
        }
    }
}

#[derive(Clone)]
pub struct CallTelemetry<S> {
    inner: S,
    metrics: Metrics,
    methods: Arc<HashSet<String>>,
}

impl<S, B, R> Service<http::Request<B>> for CallTelemetry<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let started = Instant::now();
        let path = request.uri().path();
        let path = if self.methods.contains(path) {
            path.to_owned()
        } else {
            "unknown".to_owned()
        };
        let span = tracing::info_span!(
            "grpc",
            otel.name = %path,
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.method = %path,
            rpc.grpc.status_code = Empty,
        );
        sluice_telemetry::propagation::adopt_parent(&span, request.headers());
        let called = span.in_scope(|| self.inner.call(request));
        let metrics = self.metrics.clone();
        Box::pin(
            async move {
                let result = called.await;
                let code = match &result {
                    Ok(response) => status_code(response.headers()),
                    Err(_) => tonic::Code::Unknown,
                };
                tracing::Span::current().record("rpc.grpc.status_code", code as i32);
                metrics.grpc_call(&path, code_name(code), started.elapsed());
                result
            }
            .instrument(span),
        )
    }
}

/// A failed call is answered with its status in the headers; a successful one carries
/// it in the trailers, after the headers this layer sees.
fn status_code(headers: &http::HeaderMap) -> tonic::Code {
    headers.get("grpc-status").map_or(tonic::Code::Ok, |value| {
        tonic::Code::from_bytes(value.as_bytes())
    })
}

fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_served_method_is_known_and_nothing_else() {
        let methods = served_methods();
        assert!(methods.contains("/sluice.v1.IngressControl/CreateExecution"));
        assert!(methods.contains("/sluice.v1.Admin/CreateWorkflow"));
        assert!(methods.contains("/grpc.health.v1.Health/Check"));
        assert!(!methods.contains("/sluice.v1.Admin/NoSuchMethod"));
    }

    #[test]
    fn the_status_comes_from_the_headers_and_is_ok_without_one() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(status_code(&headers), tonic::Code::Ok);
        headers.insert("grpc-status", http::HeaderValue::from_static("14"));
        assert_eq!(status_code(&headers), tonic::Code::Unavailable);
        assert_eq!(code_name(status_code(&headers)), "UNAVAILABLE");
    }
}
