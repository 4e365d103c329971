//! A scripted control plane, an ingress started against it on loopback, and a raw
//! HTTP/1.1 client.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use sluice_proto::{
    secrets::url_secret_digest,
    v1::{
        CreateExecutionRequest, CreateExecutionResponse, GetWebhookConfigRequest,
        WatchWebhooksRequest, WebhookChange, WebhookConfig, WebhookStatus,
        create_execution_response::Outcome,
        ingress_control_server::{IngressControl, IngressControlServer},
    },
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::{mpsc, oneshot},
    task::JoinHandle,
};
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::{Code, Request, Response, Status};

pub const WORKFLOW: &str = "8d3885a9-6470-4ee0-9d4d-d507cc97393d";
pub const SHORT: &str = "wf_4itKqkgCZrLhgYiq5L211X";
pub const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
pub const API_KEY: &str = "tc_sk_test";
pub const API_KEY_HASH: &str = "c3f3796c8a4dfe01e97d662bcfefb802d620189a2b2bc4c3c61e80b2e956819d";

/// What the scripted control plane answers, and what it was asked.
#[derive(Default)]
pub struct Script {
    pub config: Option<WebhookConfig>,
    pub config_fetches: usize,
    /// This many CreateExecution calls fail with UNAVAILABLE before one succeeds.
    pub transient_failures: usize,
    /// Every CreateExecution call fails with this code.
    pub create_error: Option<Code>,
    pub outcome: Option<Outcome>,
    pub creates: Vec<CreateExecutionRequest>,
    /// Whether a new watch stream starts with a resync.
    pub resync_on_watch: bool,
    pub watchers: Vec<mpsc::Sender<Result<WebhookChange, Status>>>,
}

#[derive(Clone)]
pub struct Control(pub Arc<Mutex<Script>>);

#[tonic::async_trait]
impl IngressControl for Control {
    async fn get_webhook_config(
        &self,
        request: Request<GetWebhookConfigRequest>,
    ) -> Result<Response<WebhookConfig>, Status> {
        let mut script = self.0.lock().unwrap();
        script.config_fetches += 1;
        assert_eq!(request.get_ref().workflow_id, WORKFLOW);
        script
            .config
            .clone()
            .map(Response::new)
            .ok_or_else(|| Status::not_found("no webhook"))
    }

    async fn create_execution(
        &self,
        request: Request<CreateExecutionRequest>,
    ) -> Result<Response<CreateExecutionResponse>, Status> {
        let mut script = self.0.lock().unwrap();
        let request = request.into_inner();
        let triggers = request.triggers.len();
        script.creates.push(request);
        if let Some(code) = script.create_error {
            return Err(Status::new(code, "scripted failure"));
        }
        if script.transient_failures > 0 {
            script.transient_failures -= 1;
            return Err(Status::unavailable("scripted outage"));
        }
        let outcome = script.outcome.unwrap_or(Outcome::Created);
        let created = outcome == Outcome::Created;
        Ok(Response::new(CreateExecutionResponse {
            outcome: outcome.into(),
            wf_id: SHORT.into(),
            wf_exec_ids: (0..triggers)
                .filter(|_| created)
                .map(|n| format!("{SHORT}/exec_{n:0>22}"))
                .collect(),
        }))
    }

    type WatchWebhooksStream = ReceiverStream<Result<WebhookChange, Status>>;

    async fn watch_webhooks(
        &self,
        _request: Request<WatchWebhooksRequest>,
    ) -> Result<Response<Self::WatchWebhooksStream>, Status> {
        let mut script = self.0.lock().unwrap();
        if !script.resync_on_watch {
            return Err(Status::unavailable("no watching today"));
        }
        let (sender, receiver) = mpsc::channel(16);
        let resync = WebhookChange {
            resync: true,
            workflow_ids: Vec::new(),
        };
        sender.try_send(Ok(resync)).unwrap();
        script.watchers.push(sender);
        Ok(Response::new(ReceiverStream::new(receiver)))
    }
}

pub fn online_webhook() -> WebhookConfig {
    WebhookConfig {
        workflow_id: WORKFLOW.into(),
        webhook_id: "12345678-1234-5678-1234-567812345678".into(),
        status: WebhookStatus::Online.into(),
        methods: vec!["POST".into()],
        published_version: Some(1),
        secret_sha256: vec![url_secret_digest(SECRET).to_vec()],
        ..WebhookConfig::default()
    }
}

pub struct Harness {
    pub http: SocketAddr,
    pub script: Arc<Mutex<Script>>,
    pub shutdown: Option<oneshot::Sender<()>>,
    pub ingress: JoinHandle<anyhow::Result<()>>,
}

impl Harness {
    pub async fn start(script: Script) -> Self {
        Self::start_with(script, |_| {}).await
    }

    pub async fn start_with(
        script: Script,
        configure: impl FnOnce(&mut sluice_ingress::Config),
    ) -> Self {
        let script = Arc::new(Mutex::new(script));
        let grpc = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let control_url = format!("http://{}", grpc.local_addr().unwrap());
        let service = IngressControlServer::new(Control(Arc::clone(&script)));
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(TcpListenerStream::new(grpc)),
        );

        let mut config = sluice_ingress::Config {
            control_url,
            trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
            control_timeout: Duration::from_secs(2),
            ..sluice_ingress::Config::default()
        };
        configure(&mut config);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let http = listener.local_addr().unwrap();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let ingress = tokio::spawn(sluice_ingress::run(config, listener, async move {
            let _ = stopped.await;
        }));
        Self {
            http,
            script,
            shutdown: Some(shutdown),
            ingress,
        }
    }

    pub fn script(&self) -> std::sync::MutexGuard<'_, Script> {
        self.script.lock().unwrap()
    }

    pub async fn post(&self, body: &str) -> Answer {
        self.send(
            "POST",
            &webhook_path(),
            &[("content-type", "application/json")],
            body,
        )
        .await
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Answer {
        let mut stream = TcpStream::connect(self.http).await.unwrap();
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nhost: sluice\r\nconnection: close\r\ncontent-length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream.write_all(request.as_bytes()).await.unwrap();
        read_answer(stream).await
    }

    /// Sends POSTs until the configuration is served from the cache, i.e. the watch
    /// stream is connected and its resync applied.
    pub async fn wait_until_cached(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let before = self.script().config_fetches;
            assert_eq!(self.post("{}").await.status, 200);
            if self.script().config_fetches == before {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the configuration was never cached"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn stop(mut self) {
        self.shutdown.take().unwrap().send(()).unwrap();
        self.ingress.await.unwrap().unwrap();
    }
}

#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

pub async fn read_answer(mut stream: TcpStream) -> Answer {
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.trim().to_owned(), value.trim().to_owned())
        })
        .collect();
    Answer {
        status,
        headers,
        body: body.to_owned(),
    }
}

pub fn webhook_path() -> String {
    format!("/webhooks/{SHORT}/{SECRET}")
}

pub fn script(config: WebhookConfig) -> Script {
    Script {
        config: Some(config),
        ..Script::default()
    }
}
