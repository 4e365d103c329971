//! The admin commands: gRPC clients of the control plane's Admin service. Each command
//! produces an [`Answer`] that is printed either as one JSON value or for a person.

mod api_key;
mod audit;
mod bearer;
mod execution;
mod layout;
mod webhook;
mod workflow;

use std::time::Duration;

use anyhow::{Context, anyhow};
use sluice_proto::v1::admin_client::AdminClient;
use tonic::{Code, Status, service::interceptor::InterceptedService, transport::Channel};

pub use audit::run as audit;
pub use bearer::{Bearer, DEV_ADMIN_TOKEN, admin_token};
pub use execution::run as executions;
pub use webhook::run as webhook;
pub use workflow::run as workflow;

/// What a command prints: `json` with `--json`, `text` otherwise.
pub struct Answer {
    pub json: serde_json::Value,
    pub text: String,
}

/// A connected Admin client and the URL it reached, for error messages.
pub struct Control {
    client: AdminClient<InterceptedService<Channel, Bearer>>,
    url: String,
}

impl Control {
    pub async fn connect(
        url: &str,
        token: Option<&str>,
        tls: Option<&sluice_ingress::ControlTls>,
    ) -> anyhow::Result<Self> {
        let endpoint = Channel::from_shared(url.to_owned())
            .with_context(|| format!("invalid control plane URL: {url}"))?
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60));
        let endpoint = sluice_ingress::secure_control_endpoint(endpoint, url, tls)?;
        let channel = endpoint
            .connect()
            .await
            .with_context(|| format!("cannot reach the control plane at {url}"))?;
        Ok(Self {
            client: AdminClient::with_interceptor(channel, Bearer::new(token)?),
            url: url.to_owned(),
        })
    }

    /// Turns a failed call into the one line a person should read. Validation and
    /// lookup failures carry a message written for a person, shown as it is.
    fn failure(&self, status: Status) -> anyhow::Error {
        if let Some(cause) = transport_cause(&status) {
            return anyhow!("cannot reach the control plane at {}: {cause}", self.url);
        }
        let message = status.message();
        match status.code() {
            Code::InvalidArgument
            | Code::NotFound
            | Code::AlreadyExists
            | Code::FailedPrecondition
            | Code::OutOfRange => anyhow!("{message}"),
            Code::Unavailable => {
                anyhow!("cannot reach the control plane at {}: {message}", self.url)
            }
            Code::Unauthenticated => anyhow!(
                "the control plane at {} refused the call ({message}): give --token-file or \
                 SLUICE_TOKEN",
                self.url
            ),
            Code::PermissionDenied => anyhow!("the control plane refused the call: {message}"),
            Code::DeadlineExceeded => {
                anyhow!("the control plane at {} did not answer in time", self.url)
            }
            code => anyhow!("the control plane failed ({code:?}): {message}"),
        }
    }
}

/// What broke the connection when a call failed below gRPC (a refused TLS handshake, a
/// plaintext client on a TLS port), which the status's own message does not say.
fn transport_cause(status: &Status) -> Option<String> {
    let mut source = std::error::Error::source(status)?;
    let mut causes = vec![source.to_string()];
    while let Some(next) = source.source() {
        causes.push(next.to_string());
        source = next;
    }
    Some(causes.join(": "))
}
