//! W3C trace context (`traceparent`, `tracestate`) between the ingress and the control
//! plane, carried in gRPC metadata.
//!
//! Both ends are no-ops unless spans are exported: without an OpenTelemetry layer a
//! span has no trace id to send, and an extracted parent is ignored.

use std::collections::HashMap;

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Writes the current span's trace context into an outgoing call's metadata.
pub fn inject(metadata: &mut MetadataMap) {
    let context = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&context, &mut MetadataInjector(metadata));
}

/// The trace context of `span`, for a message that carries it in a field rather than in
/// metadata (one entry of a batched call). Empty unless spans are exported.
pub fn context_of(span: &tracing::Span) -> HashMap<String, String> {
    let mut fields = HashMap::new();
    TraceContextPropagator::new().inject_context(&span.context(), &mut fields);
    fields
}

/// Makes `span` a child of a trace context carried in a message field, if any.
pub fn adopt_parent_from(span: &tracing::Span, fields: &HashMap<String, String>) {
    if fields.is_empty() {
        return;
    }
    let parent = TraceContextPropagator::new().extract(fields);
    let _ = span.set_parent(parent);
}

/// Makes `span` a child of the trace context an incoming call carries, if any.
pub fn adopt_parent(span: &tracing::Span, headers: &http::HeaderMap) {
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    // Fails only when the subscriber exports no spans, where there is nothing to join.
    let _ = span.set_parent(parent);
}

struct MetadataInjector<'a>(&'a mut MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) = (
            MetadataKey::from_bytes(key.as_bytes()),
            MetadataValue::try_from(value.as_str()),
        ) {
            self.0.insert(key, value);
        }
    }
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}
