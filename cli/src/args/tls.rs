//! The TLS flags: the control plane's certificate on its listener, and what its clients
//! (the ingress and the admin commands) trust and present. The files are PEM.

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;

/// TLS on the control plane's gRPC listener.
#[derive(Args, Debug, Default)]
pub struct ControlTlsArgs {
    /// The certificate chain the gRPC listener presents; with --tls-key it turns TLS on.
    #[arg(long, env = "SLUICE_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert.
    #[arg(long, env = "SLUICE_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Require a client certificate signed by this authority of every caller.
    #[arg(long, env = "SLUICE_TLS_CLIENT_CA", value_name = "FILE")]
    pub tls_client_ca: Option<PathBuf>,
}

impl ControlTlsArgs {
    /// The listener's TLS settings; `None` when the flags ask for plaintext.
    pub fn tls_config(&self) -> anyhow::Result<Option<sluice_control::TlsConfig>> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Ok(Some(sluice_control::TlsConfig {
                cert: cert.clone(),
                key: key.clone(),
                client_ca: self.tls_client_ca.clone(),
            })),
            (None, None) if self.tls_client_ca.is_some() => {
                bail!("--tls-client-ca needs --tls-cert and --tls-key")
            }
            (None, None) => Ok(None),
            (Some(_), None) => bail!("--tls-cert needs --tls-key"),
            (None, Some(_)) => bail!("--tls-key needs --tls-cert"),
        }
    }
}

/// What a client of the control plane trusts and presents when the control plane URL
/// is `https://`.
#[derive(Args, Debug, Default)]
pub struct ControlClientTlsArgs {
    /// The authority that signed the control plane's certificate; the only one trusted
    /// for an https:// control plane URL (the system's roots are not used).
    #[arg(long, global = true, env = "SLUICE_CONTROL_CA", value_name = "FILE")]
    pub control_ca: Option<PathBuf>,
    /// The client certificate presented to a control plane that requires one.
    #[arg(
        long,
        global = true,
        env = "SLUICE_CONTROL_CLIENT_CERT",
        value_name = "FILE"
    )]
    pub control_client_cert: Option<PathBuf>,
    /// The private key of --control-client-cert.
    #[arg(
        long,
        global = true,
        env = "SLUICE_CONTROL_CLIENT_KEY",
        value_name = "FILE"
    )]
    pub control_client_key: Option<PathBuf>,
}

impl ControlClientTlsArgs {
    /// The client's TLS settings; `None` when no authority is given.
    pub fn control_tls(&self) -> anyhow::Result<Option<sluice_ingress::ControlTls>> {
        let Some(ca) = &self.control_ca else {
            if self.control_client_cert.is_some() || self.control_client_key.is_some() {
                bail!("a client certificate needs --control-ca (or SLUICE_CONTROL_CA)");
            }
            return Ok(None);
        };
        Ok(Some(sluice_ingress::ControlTls {
            ca: ca.clone(),
            client_cert: self.control_client_cert.clone(),
            client_key: self.control_client_key.clone(),
        }))
    }
}
