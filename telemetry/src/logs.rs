//! The process's `tracing` subscriber: log lines on stderr, and spans over OTLP when
//! asked for. Stdout stays free for what commands print.

use std::io::IsTerminal;

use anyhow::{Context, anyhow};
use tracing_subscriber::{EnvFilter, Layer, layer::SubscriberExt, util::SubscriberInitExt};

use crate::otlp::Exporter;

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// For a person at a terminal.
    Text,
    /// One JSON object a line, for a log collector.
    Json,
}

/// Keeps the span exporter alive; [`Telemetry::shutdown`] sends what is still buffered.
#[must_use = "dropping the telemetry handle stops trace export"]
pub struct Telemetry {
    exporter: Option<Exporter>,
}

impl Telemetry {
    /// Sends the spans still buffered and stops exporting. Call it last, after the
    /// services have stopped, so that their final spans are not lost.
    pub fn shutdown(self) {
        if let Some(exporter) = self.exporter {
            exporter.shutdown();
        }
    }

    /// Sends the spans buffered so far without stopping.
    pub fn flush(&self) {
        if let Some(exporter) = &self.exporter {
            exporter.flush();
        }
    }
}

/// Installs the subscriber for the whole process.
///
/// `filter` selects log lines (in `tracing` syntax). With `otlp_endpoint` (the value of
/// `OTEL_EXPORTER_OTLP_ENDPOINT`, e.g. `http://collector:4317`) every span is also
/// exported over OTLP/gRPC as `service_name`, whatever the log filter says; without it
/// nothing is exported and nothing is sent anywhere. Must be called from within a
/// Tokio runtime when an endpoint is given.
pub fn init(
    filter: &str,
    format: LogFormat,
    otlp_endpoint: Option<&str>,
    service_name: &str,
) -> anyhow::Result<Telemetry> {
    let filter =
        EnvFilter::try_new(filter).with_context(|| format!("invalid log filter {filter:?}"))?;
    let ansi = std::io::stderr().is_terminal();
    let logs = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(ansi)
            .with_filter(filter)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed(),
    };

    let exporter = otlp_endpoint
        .filter(|endpoint| !endpoint.trim().is_empty())
        .map(|endpoint| Exporter::start(endpoint, service_name))
        .transpose()?;
    let traces = exporter.as_ref().map(Exporter::layer);

    tracing_subscriber::registry()
        .with(logs)
        .with(traces)
        .try_init()
        .map_err(|error| anyhow!("set up logging: {error}"))?;
    Ok(Telemetry { exporter })
}
