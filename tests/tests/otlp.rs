//! Trace export, in a test binary of its own because it installs the process-wide
//! subscriber: one webhook request becomes one trace that holds the ingress's request
//! span, the control plane's spans and its database span, as received by a real
//! OTLP/gRPC trace receiver on a loopback port; also when its creation shared a call
//! with other requests.

#[allow(dead_code, unused_imports)]
#[path = "it/harness/mod.rs"]
mod harness;

use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::{
    collector::trace::v1::{
        ExportTraceServiceRequest, ExportTraceServiceResponse,
        trace_service_server::{TraceService, TraceServiceServer},
    },
    trace::v1::Span,
};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};

use crate::harness::{Setup, Stack};

/// Keeps every span it is sent.
#[derive(Clone, Default)]
struct Receiver {
    spans: Arc<Mutex<Vec<Span>>>,
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let mut spans = self.spans.lock().expect("no holder panicked");
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                spans.extend(scope.spans);
            }
        }
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

async fn start_receiver() -> (String, Receiver) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let endpoint = format!(
        "http://{}",
        listener.local_addr().expect("the receiver's address")
    );
    let receiver = Receiver::default();
    let service = TraceServiceServer::new(receiver.clone());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    (endpoint, receiver)
}

/// Requests sent at once after the first, lone one.
const BURST: usize = 64;

fn named<'a>(spans: impl IntoIterator<Item = &'a Span>, name: &str) -> Vec<&'a Span> {
    spans.into_iter().filter(|span| span.name == name).collect()
}

// Several worker threads: flushing blocks one while the exporter sends on the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_webhook_request_is_one_trace_across_both_services_and_the_database() {
    let (endpoint, receiver) = start_receiver().await;
    let telemetry = Arc::new(
        sluice_telemetry::init(
            "warn",
            sluice_telemetry::LogFormat::Text,
            Some(&endpoint),
            "sluice-test",
        )
        .unwrap(),
    );

    let stack = Arc::new(Stack::start().await);
    let webhook = stack.webhook(Setup::default()).await;
    let response = stack
        .send(harness::Request::post(&webhook.path).json(r#"{"traced":true}"#))
        .await;
    assert_eq!(response.status, 200);
    // Then a burst, which the ingress sends in shared CreateExecutions calls.
    let mut burst = tokio::task::JoinSet::new();
    for n in 0..BURST {
        let (stack, path) = (stack.clone(), webhook.path.clone());
        burst.spawn(async move {
            let body = format!(r#"{{"burst":{n}}}"#);
            stack.send(harness::Request::post(&path).json(&body)).await
        });
    }
    while let Some(response) = burst.join_next().await {
        assert_eq!(response.unwrap().status, 200);
    }
    let Ok(stack) = Arc::try_unwrap(stack) else {
        panic!("every request has been answered");
    };
    stack.stop().await;

    let flushing = Arc::clone(&telemetry);
    tokio::task::spawn_blocking(move || flushing.flush())
        .await
        .unwrap();
    let spans = receiver.spans.lock().unwrap().clone();

    let requests = named(&spans, "request");
    assert_eq!(requests.len(), 1 + BURST, "one ingress span per request");
    let (mut alone, mut shared) = (0, 0);
    for request in requests {
        let trace: Vec<&Span> = spans
            .iter()
            .filter(|span| span.trace_id == request.trace_id)
            .collect();
        let handlers = named(trace.iter().copied(), "IngressControl.CreateExecution");
        assert_eq!(
            handlers.len(),
            1,
            "the control plane's handling joined the trace"
        );
        let handler = handlers[0];

        if handler.parent_span_id == request.span_id {
            // An entry of a shared call: its context came in the entry itself.
            shared += 1;
        } else {
            // A call of its own, joined through the call's metadata.
            let calls = named(
                trace.iter().copied(),
                "/sluice.v1.IngressControl/CreateExecution",
            );
            assert_eq!(calls.len(), 1, "the control plane's call joined the trace");
            assert_eq!(calls[0].parent_span_id, request.span_id);
            assert_eq!(handler.parent_span_id, calls[0].span_id);
            alone += 1;
        }

        let statements = named(trace.iter().copied(), "INSERT executions");
        assert_eq!(statements.len(), 1, "the database span is in the trace");
        assert_eq!(statements[0].parent_span_id, handler.span_id);
    }
    assert!(alone >= 1, "the lone request had a call of its own");
    assert!(shared >= 1, "no request of the burst shared a call");

    // The URL secret is in the request's path, and must not be in any span.
    let text = format!("{spans:?}");
    assert!(!text.contains(&webhook.secret), "a URL secret in a span");
}
