//! TLS towards the control plane: the authority its certificate must be signed by and,
//! when it requires client certificates, the certificate this side presents. The CLI's
//! admin commands use it too, with the same flags.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

/// Where the client's TLS material is, as PEM files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlTls {
    /// The authority the control plane's certificate must chain to (`--control-ca`).
    /// It is the only trust anchor: the system's roots are not consulted.
    pub ca: PathBuf,
    /// The certificate presented to a control plane that requires one
    /// (`--control-client-cert`), given together with `client_key`.
    pub client_cert: Option<PathBuf>,
    /// The private key of `client_cert` (`--control-client-key`).
    pub client_key: Option<PathBuf>,
}

impl ControlTls {
    /// Reads and checks the files, so that a wrong one stops the start with a message
    /// naming it rather than failing every call later.
    pub fn load(&self) -> anyhow::Result<ClientTlsConfig> {
        let ca = read_certificates("--control-ca", &self.ca)?;
        let mut config = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca));
        match (&self.client_cert, &self.client_key) {
            (Some(cert), Some(key)) => {
                let cert = read_certificates("--control-client-cert", cert)?;
                let key = read_private_key("--control-client-key", key)?;
                config = config.identity(Identity::from_pem(cert, key));
            }
            (None, None) => {}
            (Some(_), None) => bail!("--control-client-cert needs --control-client-key"),
            (None, Some(_)) => bail!("--control-client-key needs --control-client-cert"),
        }
        Ok(config)
    }
}

/// Applies `tls` to an endpoint for `url`: TLS exactly when the URL is `https://`, which
/// then needs the authority to check the control plane's certificate against.
pub fn secure(endpoint: Endpoint, url: &str, tls: Option<&ControlTls>) -> anyhow::Result<Endpoint> {
    let https = url.starts_with("https://");
    match (https, tls) {
        (true, Some(tls)) => endpoint
            .tls_config(tls.load()?)
            .context("configure TLS towards the control plane"),
        (true, None) => bail!(
            "the control plane URL {url} is https:// but no --control-ca (or \
             SLUICE_CONTROL_CA) names the authority that signed its certificate"
        ),
        (false, Some(_)) => bail!(
            "--control-ca (or SLUICE_CONTROL_CA) is given but the control plane URL {url} \
             is not https://"
        ),
        (false, None) => Ok(endpoint),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint() -> Endpoint {
        Endpoint::from_static("https://127.0.0.1:1")
    }

    #[test]
    fn https_without_an_authority_is_refused() {
        let error = secure(endpoint(), "https://127.0.0.1:1", None).unwrap_err();
        assert!(error.to_string().contains("--control-ca"), "{error}");
    }

    #[test]
    fn an_authority_for_a_plaintext_url_is_refused() {
        let tls = ControlTls {
            ca: "/nonexistent".into(),
            client_cert: None,
            client_key: None,
        };
        let error = secure(endpoint(), "http://127.0.0.1:1", Some(&tls)).unwrap_err();
        assert!(error.to_string().contains("not https://"), "{error}");
    }

    #[test]
    fn a_missing_file_names_its_flag() {
        let tls = ControlTls {
            ca: "/nonexistent/ca.pem".into(),
            client_cert: None,
            client_key: None,
        };
        let error = format!("{:#}", tls.load().unwrap_err());
        assert!(
            error.starts_with("--control-ca /nonexistent/ca.pem: cannot read"),
            "{error}"
        );
    }

    #[test]
    fn a_file_without_a_certificate_is_refused_without_quoting_it() {
        let dir = std::env::temp_dir().join(format!("sluice-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ca.pem");
        std::fs::write(&path, "not-a-certificate-but-a-secret").unwrap();
        let tls = ControlTls {
            ca: path.clone(),
            client_cert: None,
            client_key: None,
        };
        let error = format!("{:#}", tls.load().unwrap_err());
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(error.contains("no PEM certificate"), "{error}");
        assert!(!error.contains("secret"), "{error}");
    }
}
