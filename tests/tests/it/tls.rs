//! TLS with client certificates between the control plane and its clients: the
//! certificates are made for each test by an authority that exists only for it.

use std::{path::PathBuf, sync::Arc};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use sluice_proto::v1;
use tokio::{io::AsyncReadExt, net::TcpStream};
use tokio_rustls::{
    TlsConnector,
    rustls::{
        ClientConfig, RootCertStore,
        pki_types::{CertificateDer, PrivateKeyDer, ServerName, pem::PemObject},
    },
};
use tonic::transport::{Channel, Endpoint};

use crate::harness::{
    Options, Request, Setup, Stack,
    credentials::{self, ADMIN_TOKEN},
};

/// A certificate authority, a server certificate for loopback and a client
/// certificate, written as PEM files into a directory removed on drop.
struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn generate() -> Self {
        let dir = std::env::temp_dir().join(format!("sluice-tls-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();

        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        // A name of its own, so that another test authority is a stranger, not an
        // issuer of the same name with a different key.
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        ca_params.distinguished_name.push(DnType::CommonName, name);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();

        for (name, names) in [
            (
                "server",
                vec!["localhost".to_owned(), "127.0.0.1".to_owned()],
            ),
            ("client", vec!["ingress.sluice.test".to_owned()]),
        ] {
            let key = KeyPair::generate().unwrap();
            let cert = CertificateParams::new(names)
                .unwrap()
                .signed_by(&key, &ca)
                .unwrap();
            std::fs::write(dir.join(format!("{name}.pem")), cert.pem()).unwrap();
            std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
        }
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }

    /// The control plane's listener: TLS, and a client certificate required.
    fn server(&self) -> sluice_control::TlsConfig {
        sluice_control::TlsConfig {
            cert: self.path("server.pem"),
            key: self.path("server.key"),
            client_ca: Some(self.path("ca.pem")),
        }
    }

    /// A client trusting the authority and presenting the client certificate.
    fn client(&self) -> sluice_ingress::ControlTls {
        sluice_ingress::ControlTls {
            ca: self.path("ca.pem"),
            client_cert: Some(self.path("client.pem")),
            client_key: Some(self.path("client.key")),
        }
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn start(pki: &Pki) -> Stack {
    let mut options = Options {
        tls: Some(pki.server()),
        ..Options::default()
    };
    options.ingress.control_tls = Some(pki.client());
    Stack::start_with(options).await
}

async fn list_workflows(channel: Channel) -> Result<usize, tonic::Status> {
    credentials::admin(channel, Some(ADMIN_TOKEN))
        .list_workflows(v1::ListWorkflowsRequest {})
        .await
        .map(|response| response.into_inner().workflows.len())
}

/// Why a call through `endpoint` failed, whether connecting or calling failed: the
/// whole error, its transport-level causes included.
async fn refusal(endpoint: Endpoint) -> String {
    let result = match endpoint.connect().await {
        Ok(channel) => list_workflows(channel).await,
        Err(error) => return format!("{error:?}"),
    };
    let status = result.expect_err("the call must be refused");
    assert_ne!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
    format!("{status:?}")
}

#[tokio::test]
async fn the_ingress_stores_a_webhook_through_a_mutually_authenticated_channel() {
    let pki = Pki::generate();
    let stack = start(&pki).await;
    // The stack's admin client presents the client certificate over TLS too.
    let webhook = stack.webhook(Setup::default()).await;

    let response = stack
        .send(Request::post(webhook.path.clone()).json(r#"{"over":"tls"}"#))
        .await;
    assert_eq!(response.status, 200, "{:?}", response.json());
    assert_eq!(stack.stored_executions().await, 1);
    assert_eq!(
        stack.triggers(&webhook.workflow_id).await,
        vec![serde_json::json!({"over": "tls"})]
    );
    stack.stop().await;
}

#[tokio::test]
async fn an_admin_client_with_a_client_certificate_is_served() {
    let pki = Pki::generate();
    let stack = start(&pki).await;
    stack.webhook(Setup::default()).await;

    let url = format!("https://localhost:{}", stack.grpc.port());
    let endpoint = Channel::from_shared(url.clone()).unwrap();
    let channel = sluice_ingress::secure_control_endpoint(endpoint, &url, Some(&pki.client()))
        .unwrap()
        .connect()
        .await
        .unwrap();
    assert_eq!(list_workflows(channel).await.unwrap(), 1);
    stack.stop().await;
}

/// Completes the client's side of a TLS handshake with the stack's control plane,
/// trusting `pki`'s authority and presenting `client` (a certificate chain and its key),
/// then reads: the error the server's refusal turns into.
async fn refused_handshake(
    stack: &Stack,
    pki: &Pki,
    client: Option<(Vec<u8>, Vec<u8>)>,
) -> std::io::Error {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(&pki.read("ca.pem")).unwrap())
        .unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match client {
        Some((cert, key)) => {
            let chain = CertificateDer::pem_slice_iter(&cert)
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key = PrivateKeyDer::from_pem_slice(&key).unwrap();
            builder.with_client_auth_cert(chain, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = TcpStream::connect(stack.grpc).await.unwrap();
    let server = ServerName::try_from("localhost").unwrap();
    // Under TLS 1.3 the server judges the client's certificate after the client has
    // finished its side, so the refusal arrives as an alert on the first read. Nothing
    // is written, so that the refusal cannot be masked by a write to a closed socket.
    match TlsConnector::from(Arc::new(config))
        .connect(server, tcp)
        .await
    {
        Ok(mut stream) => {
            let mut buffer = [0; 64];
            stream
                .read(&mut buffer)
                .await
                .expect_err("the server must refuse")
        }
        Err(error) => error,
    }
}

#[tokio::test]
async fn a_client_without_a_certificate_is_refused_at_the_handshake() {
    let pki = Pki::generate();
    let stack = start(&pki).await;

    let refusal = refused_handshake(&stack, &pki, None).await;
    assert!(
        refusal.to_string().contains("CertificateRequired"),
        "{refusal}"
    );
    stack.stop().await;
}

#[tokio::test]
async fn a_certificate_from_another_authority_is_refused_at_the_handshake() {
    let pki = Pki::generate();
    let stranger = Pki::generate();
    let stack = start(&pki).await;
    let client = (stranger.read("client.pem"), stranger.read("client.key"));
    let refusal = refused_handshake(&stack, &pki, Some(client)).await;
    assert!(refusal.to_string().contains("UnknownCA"), "{refusal}");
    stack.stop().await;
}

#[tokio::test]
async fn a_plaintext_client_is_refused() {
    let pki = Pki::generate();
    let stack = start(&pki).await;

    let endpoint = Channel::from_shared(format!("http://{}", stack.grpc)).unwrap();
    // The server answers HTTP/2 only inside TLS, so the connection breaks before any
    // call is answered.
    let refusal = refusal(endpoint).await;
    assert!(refusal.contains("transport error"), "{refusal}");
    stack.stop().await;
}
