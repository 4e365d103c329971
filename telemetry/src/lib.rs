//! What both Sluice services share about being observed.
//!
//! - [`init`] sets up the process's `tracing` subscriber: log lines on stderr as text or
//!   JSON, and spans exported over OTLP when an endpoint is configured.
//! - [`propagation`] carries W3C trace context from the ingress's gRPC calls into the
//!   control plane's spans, so that one webhook request is one trace.
//! - [`metrics_endpoint`] serves Prometheus text on an admin port.
//!
//! Metrics themselves live with the service that counts them; this crate only serves
//! what they render.

mod logs;
pub mod metrics_endpoint;
mod otlp;
pub mod propagation;

pub use logs::{LogFormat, Telemetry, init};
