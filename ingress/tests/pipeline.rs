//! The ingress over real sockets against a scripted control plane: the order of checks,
//! what is sent to the control plane, retries, the configuration cache and draining.

#![allow(clippy::unwrap_used, reason = "the harness helpers are test code too")]

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use sluice_proto::{
    secrets::url_secret_digest,
    v1::{
        ApiKeyMaterial, CreateExecutionRequest, CreateExecutionResponse, GetWebhookConfigRequest,
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

const WORKFLOW: &str = "8d3885a9-6470-4ee0-9d4d-d507cc97393d";
const SHORT: &str = "wf_4itKqkgCZrLhgYiq5L211X";
const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const API_KEY: &str = "tc_sk_test";
const API_KEY_HASH: &str = "c3f3796c8a4dfe01e97d662bcfefb802d620189a2b2bc4c3c61e80b2e956819d";

/// What the scripted control plane answers, and what it was asked.
#[derive(Default)]
struct Script {
    config: Option<WebhookConfig>,
    config_fetches: usize,
    /// This many CreateExecution calls fail with UNAVAILABLE before one succeeds.
    transient_failures: usize,
    /// Every CreateExecution call fails with this code.
    create_error: Option<Code>,
    outcome: Option<Outcome>,
    creates: Vec<CreateExecutionRequest>,
    /// Whether a new watch stream starts with a resync.
    resync_on_watch: bool,
    watchers: Vec<mpsc::Sender<Result<WebhookChange, Status>>>,
}

#[derive(Clone)]
struct Control(Arc<Mutex<Script>>);

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

fn online_webhook() -> WebhookConfig {
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

struct Harness {
    http: SocketAddr,
    script: Arc<Mutex<Script>>,
    shutdown: Option<oneshot::Sender<()>>,
    ingress: JoinHandle<anyhow::Result<()>>,
}

impl Harness {
    async fn start(script: Script) -> Self {
        Self::start_with(script, |_| {}).await
    }

    async fn start_with(
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

    fn script(&self) -> std::sync::MutexGuard<'_, Script> {
        self.script.lock().unwrap()
    }

    async fn post(&self, body: &str) -> Answer {
        self.send(
            "POST",
            &webhook_path(),
            &[("content-type", "application/json")],
            body,
        )
        .await
    }

    async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
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
    async fn wait_until_cached(&self) {
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

    async fn stop(mut self) {
        self.shutdown.take().unwrap().send(()).unwrap();
        self.ingress.await.unwrap().unwrap();
    }
}

#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

async fn read_answer(mut stream: TcpStream) -> Answer {
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

fn webhook_path() -> String {
    format!("/webhooks/{SHORT}/{SECRET}")
}

fn script(config: WebhookConfig) -> Script {
    Script {
        config: Some(config),
        ..Script::default()
    }
}

#[tokio::test]
async fn a_created_execution_carries_the_trigger_and_request_facts() {
    let harness = Harness::start(script(online_webhook())).await;
    let body = r#"{ "alert_id": "A-1" }"#;
    let answer = harness
        .send(
            "POST",
            &webhook_path(),
            &[
                ("content-type", "Application/JSON; charset=utf-8"),
                ("x-forwarded-for", "203.0.113.9"),
            ],
            body,
        )
        .await;

    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.body,
        format!(
            r#"{{"message":"Workflow execution created","wf_id":"{SHORT}","wf_exec_id":"{SHORT}/exec_{:0>22}"}}"#,
            0
        )
    );
    let script = harness.script();
    let [created] = script.creates.as_slice() else {
        panic!(
            "expected one CreateExecution call, got {}",
            script.creates.len()
        );
    };
    assert_eq!(created.triggers, vec![body.as_bytes().to_vec()]);
    assert_eq!(created.workflow_id, WORKFLOW);
    assert_eq!(created.webhook_id, "12345678-1234-5678-1234-567812345678");
    assert_eq!(created.client_ip, "203.0.113.9");
    assert_eq!(created.method, "POST");
    assert_eq!(created.media_type, "application/json");
    assert!(!created.api_key_used);
    assert!(created.received_at.is_some());
    assert!(uuid::Uuid::parse_str(&created.request_id).is_ok());
}

#[tokio::test]
async fn transient_failures_are_retried_with_the_same_request_id() {
    let harness = Harness::start(Script {
        transient_failures: 2,
        ..script(online_webhook())
    })
    .await;
    assert_eq!(harness.post("{}").await.status, 200);

    let script = harness.script();
    assert_eq!(script.creates.len(), 3);
    assert!(
        script
            .creates
            .iter()
            .all(|c| c.request_id == script.creates[0].request_id)
    );
}

#[tokio::test]
async fn a_commit_that_keeps_failing_is_503_within_the_timeout() {
    let harness = Harness::start_with(
        Script {
            transient_failures: usize::MAX,
            ..script(online_webhook())
        },
        |config| config.control_timeout = Duration::from_millis(400),
    )
    .await;
    let started = Instant::now();
    let answer = harness.post("{}").await;

    assert_eq!(answer.status, 503);
    assert_eq!(answer.header("retry-after"), Some("1"));
    assert_eq!(
        answer.json(),
        serde_json::json!({"detail": "Service unavailable, retry later"})
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(harness.script().creates.len() > 1);
}

#[tokio::test]
async fn an_unreachable_control_plane_is_503() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = listener.local_addr().unwrap();
    let config = sluice_ingress::Config {
        // Nothing listens there: the port was just released.
        control_url: format!(
            "http://{}",
            TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap()
                .local_addr()
                .unwrap()
        ),
        ..sluice_ingress::Config::default()
    };
    let (shutdown, stopped) = oneshot::channel::<()>();
    let ingress = tokio::spawn(sluice_ingress::run(config, listener, async move {
        let _ = stopped.await;
    }));

    let mut stream = TcpStream::connect(http).await.unwrap();
    let request = format!(
        "POST {} HTTP/1.1\r\nhost: s\r\nconnection: close\r\ncontent-length: 2\r\n\r\n{{}}",
        webhook_path()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let answer = read_answer(stream).await;
    assert_eq!(answer.status, 503);
    assert_eq!(answer.header("retry-after"), Some("1"));

    shutdown.send(()).unwrap();
    ingress.await.unwrap().unwrap();
}

#[tokio::test]
async fn control_plane_answers_map_to_the_contract() {
    for (outcome, code, status, detail) in [
        (
            Some(Outcome::WebhookOffline),
            None,
            400,
            "Webhook is offline",
        ),
        (
            Some(Outcome::NotPublished),
            None,
            404,
            "No published workflow definition. Publish the workflow and try again.",
        ),
        (
            Some(Outcome::WebhookNotFound),
            None,
            401,
            "Unauthorized webhook request",
        ),
        (
            None,
            Some(Code::InvalidArgument),
            400,
            "Invalid json payload",
        ),
        (
            None,
            Some(Code::Internal),
            503,
            "Service unavailable, retry later",
        ),
    ] {
        let harness = Harness::start(Script {
            outcome,
            create_error: code,
            ..script(online_webhook())
        })
        .await;
        let answer = harness.post("{}").await;
        assert_eq!(
            (answer.status, answer.json()["detail"].as_str()),
            (status, Some(detail)),
            "{outcome:?} {code:?}"
        );
    }
}

#[tokio::test]
async fn an_unknown_webhook_or_wrong_secret_is_401_whatever_the_method() {
    let harness = Harness::start(Script::default()).await;
    let answer = harness.send("PUT", &webhook_path(), &[], "").await;
    assert_eq!(
        (answer.status, answer.json()),
        (
            401,
            serde_json::json!({"detail": "Unauthorized webhook request"})
        )
    );

    let harness = Harness::start(script(online_webhook())).await;
    let wrong = format!("/webhooks/{SHORT}/{}", "f".repeat(64));
    assert_eq!(harness.send("PUT", &wrong, &[], "").await.status, 401);
    assert_eq!(harness.send("OPTIONS", &wrong, &[], "").await.status, 401);
    assert!(harness.script().creates.is_empty());
}

#[tokio::test]
async fn other_methods_are_answered_right_after_the_secret_check() {
    let offline = WebhookConfig {
        status: WebhookStatus::Offline.into(),
        ..online_webhook()
    };
    let harness = Harness::start(script(offline)).await;

    let answer = harness.send("PUT", &webhook_path(), &[], "{}").await;
    assert_eq!(answer.status, 405);
    assert_eq!(answer.header("allow"), Some("POST, HEAD, OPTIONS"));

    let answer = harness.send("OPTIONS", &webhook_path(), &[], "").await;
    assert_eq!(answer.status, 204);
    assert_eq!(answer.header("allow"), Some("POST, HEAD, OPTIONS"));

    // Offline comes before the method check of GET and POST.
    assert_eq!(
        harness.send("GET", &webhook_path(), &[], "").await.status,
        400
    );
    assert_eq!(
        harness.post("{}").await.json()["detail"],
        "Webhook is offline"
    );
}

#[tokio::test]
async fn a_method_the_webhook_does_not_accept_is_405() {
    let harness = Harness::start(script(online_webhook())).await;
    let answer = harness.send("GET", &webhook_path(), &[], "").await;
    assert_eq!(answer.status, 405);
    assert_eq!(answer.json()["detail"], "Request method not allowed");
    assert_eq!(answer.header("allow"), Some("POST, HEAD, OPTIONS"));
}

#[tokio::test]
async fn head_checks_allowlist_and_key_but_never_creates() {
    let keyed = WebhookConfig {
        api_key: Some(ApiKeyMaterial {
            hash_hex: API_KEY_HASH.into(),
            salt_b64: "AAECAwQFBgcICQoLDA0ODw==".into(),
            active: true,
        }),
        ..online_webhook()
    };
    let harness = Harness::start(script(keyed)).await;

    assert_eq!(
        harness.send("HEAD", &webhook_path(), &[], "").await.status,
        401
    );
    let answer = harness
        .send(
            "HEAD",
            &webhook_path(),
            &[("x-tracecat-api-key", API_KEY)],
            "",
        )
        .await;
    assert_eq!((answer.status, answer.body.as_str()), (200, ""));
    assert!(harness.script().creates.is_empty());

    let answer = harness
        .send(
            "POST",
            &webhook_path(),
            &[("x-tracecat-api-key", API_KEY)],
            "{}",
        )
        .await;
    assert_eq!(answer.status, 200);
    assert!(harness.script().creates[0].api_key_used);
}

#[tokio::test]
async fn the_allowlist_uses_the_forwarded_client_of_a_trusted_proxy() {
    let allowlisted = WebhookConfig {
        allowlisted_cidrs: vec!["198.51.100.0/24".into()],
        ..online_webhook()
    };
    let harness = Harness::start(script(allowlisted)).await;

    let answer = harness.post("{}").await;
    assert_eq!(
        (answer.status, answer.json()["detail"].as_str()),
        (403, Some("Unauthorized webhook request"))
    );
    let forwarded = [("x-forwarded-for", "10.0.0.1, 198.51.100.7")];
    assert_eq!(
        harness
            .send("POST", &webhook_path(), &forwarded, "{}")
            .await
            .status,
        200
    );
    assert_eq!(harness.script().creates[0].client_ip, "198.51.100.7");
}

#[tokio::test]
async fn handshakes_and_rejections_create_nothing() {
    let unpublished = WebhookConfig {
        published_version: None,
        methods: vec!["GET".into(), "POST".into()],
        ..online_webhook()
    };
    let harness = Harness::start(script(unpublished)).await;

    let okta = format!("{}?vendor=okta", webhook_path());
    let answer = harness
        .send(
            "GET",
            &okta,
            &[("x-okta-verification-challenge", "abc")],
            "",
        )
        .await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (200, r#"{"verification":"abc"}"#)
    );

    let slack = r#"{"type":"url_verification","challenge":"c-1"}"#;
    let answer = harness.post(slack).await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (200, r#"{"challenge":"c-1"}"#)
    );

    // Nothing is published: the published check comes before the parse.
    assert_eq!(harness.post("{not json").await.status, 404);
    let bad_query = format!("{}?echo=perhaps", webhook_path());
    let answer = harness.send("POST", &bad_query, &[], "{}").await;
    assert_eq!(answer.json()["detail"], "Invalid value for echo: perhaps");
    assert!(harness.script().creates.is_empty());
}

#[tokio::test]
async fn include_headers_stores_the_envelope_without_the_api_key() {
    let with_headers = WebhookConfig {
        include_headers: true,
        ..online_webhook()
    };
    let harness = Harness::start(script(with_headers)).await;
    let path = format!("{}?echo=true", webhook_path());
    let answer = harness
        .send(
            "POST",
            &path,
            &[
                ("content-type", "application/x-ndjson"),
                ("x-tracecat-api-key", "ignored"),
                ("x-sender", "s"),
            ],
            "{\"n\":1}\n{\"n\":2}\n",
        )
        .await;

    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.json()["payload"],
        serde_json::json!([{"n": 1}, {"n": 2}])
    );
    assert_eq!(answer.json()["wf_exec_ids"].as_array().unwrap().len(), 2);
    let script = harness.script();
    let stored: Vec<serde_json::Value> = script.creates[0]
        .triggers
        .iter()
        .map(|text| serde_json::from_slice(text).unwrap())
        .collect();
    assert_eq!(stored[1]["data"], serde_json::json!({"n": 2}));
    assert_eq!(stored[1]["raw_body"], "{\"n\":2}");
    assert_eq!(stored[1]["headers"]["x-sender"], "s");
    assert_eq!(stored[1]["headers"]["content-type"], "application/x-ndjson");
    assert!(stored[1]["headers"].get("x-tracecat-api-key").is_none());
}

#[tokio::test]
async fn configurations_are_cached_while_the_watch_stream_is_connected() {
    let harness = Harness::start(Script {
        resync_on_watch: true,
        ..script(online_webhook())
    })
    .await;
    harness.wait_until_cached().await;
    let fetches = harness.script().config_fetches;
    for _ in 0..3 {
        assert_eq!(harness.post("{}").await.status, 200);
    }
    assert_eq!(harness.script().config_fetches, fetches);

    // A change for the workflow makes the next request fetch again.
    harness.script().config = Some(WebhookConfig {
        status: WebhookStatus::Offline.into(),
        ..online_webhook()
    });
    let watcher = harness.script().watchers[0].clone();
    let change = WebhookChange {
        resync: false,
        workflow_ids: vec![WORKFLOW.into()],
    };
    watcher.send(Ok(change)).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    while harness.post("{}").await.status != 400 {
        assert!(
            Instant::now() < deadline,
            "the change never reached the cache"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn without_the_watch_stream_every_request_fetches() {
    let harness = Harness::start(Script {
        resync_on_watch: true,
        ..script(online_webhook())
    })
    .await;
    harness.wait_until_cached().await;

    // The stream ends and cannot be reopened: nothing cached may be used any more.
    {
        let mut script = harness.script();
        script.resync_on_watch = false;
        script.watchers.clear();
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let before = harness.script().config_fetches;
        harness.post("{}").await;
        if harness.script().config_fetches > before {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the cache was still used after the stream ended"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let before = harness.script().config_fetches;
    harness.post("{}").await;
    harness.post("{}").await;
    assert_eq!(harness.script().config_fetches, before + 2);
}

#[tokio::test]
async fn shutdown_lets_a_request_in_flight_finish() {
    let harness = Harness::start(script(online_webhook())).await;
    let mut stream = TcpStream::connect(harness.http).await.unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nhost: s\r\ncontent-length: 8\r\n\r\n{{\"a\":",
        webhook_path()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let Harness {
        http,
        script,
        shutdown,
        ingress,
    } = harness;
    shutdown.unwrap().send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!ingress.is_finished());

    stream.write_all(b"12}").await.unwrap();
    let answer = read_answer(stream).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        script.lock().unwrap().creates[0].triggers,
        vec![b"{\"a\":12}".to_vec()]
    );
    ingress.await.unwrap().unwrap();
    assert!(TcpStream::connect(http).await.is_err());
}

#[tokio::test]
async fn stopping_an_idle_ingress_returns() {
    Harness::start(script(online_webhook())).await.stop().await;
}
