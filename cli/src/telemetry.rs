//! Log output and trace export for the process: `tracing` events on stderr, as text for
//! a terminal or as JSON lines for a log collector, and spans over OTLP when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` names a collector. Stdout stays free for what commands
//! print.

use crate::args::LogFormat;

pub use sluice_telemetry::Telemetry;

/// The variable OpenTelemetry SDKs read the collector's address from.
const OTLP_ENDPOINT_VARIABLE: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

pub fn init(filter: &str, format: LogFormat, service_name: &str) -> anyhow::Result<Telemetry> {
    let format = match format {
        LogFormat::Text => sluice_telemetry::LogFormat::Text,
        LogFormat::Json => sluice_telemetry::LogFormat::Json,
    };
    let endpoint = std::env::var(OTLP_ENDPOINT_VARIABLE).ok();
    sluice_telemetry::init(filter, format, endpoint.as_deref(), service_name)
}
