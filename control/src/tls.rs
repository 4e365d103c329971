//! TLS on the gRPC listener: the server's certificate and, when client certificates are
//! required, the authority that must have signed them.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use tonic::transport::{Certificate, Identity, ServerTlsConfig};

/// Where the listener's TLS material is, as PEM files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsConfig {
    /// The server's certificate chain (`--tls-cert`).
    pub cert: PathBuf,
    /// The server's private key (`--tls-key`).
    pub key: PathBuf,
    /// When set, only clients presenting a certificate signed by this authority may
    /// connect (`--tls-client-ca`).
    pub client_ca: Option<PathBuf>,
}

impl TlsConfig {
    /// Reads and checks the files without serving, so that a caller can refuse a wrong
    /// one before it announces that it listens.
    pub fn check(&self) -> anyhow::Result<()> {
        self.load().map(drop)
    }

    /// Reads and checks the files, so that a wrong one stops the start with a message
    /// naming it rather than failing every handshake later.
    pub(crate) fn load(&self) -> anyhow::Result<ServerTlsConfig> {
        let cert = read_certificates("--tls-cert", &self.cert)?;
        let key = read_private_key("--tls-key", &self.key)?;
        let mut config = ServerTlsConfig::new().identity(Identity::from_pem(cert, key));
        if let Some(client_ca) = &self.client_ca {
            let authority = read_certificates("--tls-client-ca", client_ca)?;
            config = config.client_ca_root(Certificate::from_pem(authority));
        }
        Ok(config)
    }
}

/// The PEM text of `path`, refused unless it holds at least one certificate. Neither
/// the file's content nor the parser's message (which may quote it) is ever shown.
fn read_certificates(flag: &str, path: &Path) -> anyhow::Result<Vec<u8>> {
    let pem = read(flag, path)?;
    let certificates: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(&pem).collect();
    match certificates {
        Ok(certificates) if !certificates.is_empty() => Ok(pem),
        _ => bail!("{flag} {}: no PEM certificate in the file", path.display()),
    }
}

/// The PEM text of `path`, refused unless it holds a private key.
fn read_private_key(flag: &str, path: &Path) -> anyhow::Result<Vec<u8>> {
    let pem = read(flag, path)?;
    if PrivateKeyDer::from_pem_slice(&pem).is_err() {
        bail!("{flag} {}: no PEM private key in the file", path.display());
    }
    Ok(pem)
}

fn read(flag: &str, path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("{flag} {}: cannot read the file", path.display()))
}
