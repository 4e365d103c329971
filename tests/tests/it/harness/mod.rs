//! The end-to-end harness: real services on loopback sockets, a real PostgreSQL, and a
//! typed way to set up a webhook and send it requests.

pub mod credentials;
pub mod database;
pub mod http;
pub mod proxy;
pub mod stack;

use serde_json::Value;
use sluice_proto::v1;

pub use self::{
    http::{Request, Response},
    stack::{Options, Stack},
};

/// How a test wants its webhook. The default is what most senders meet: published,
/// online, POST only, no allowlist, no key, no header envelope.
#[derive(Clone, Debug)]
pub struct Setup {
    pub published: bool,
    pub status: &'static str,
    pub methods: Vec<&'static str>,
    pub allowlist: Vec<&'static str>,
    pub include_headers: bool,
    /// Admin steps on the API key, in order: "generate", "revoke", "delete".
    pub api_key: Vec<&'static str>,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            published: true,
            status: "online",
            methods: vec!["POST"],
            allowlist: Vec::new(),
            include_headers: false,
            api_key: Vec::new(),
        }
    }
}

/// A webhook created for a test.
#[derive(Clone, Debug)]
pub struct Webhook {
    /// `wf_…`.
    pub workflow_id: String,
    /// The path of the webhook URL, secret included, without the query.
    pub path: String,
    /// The URL secret.
    pub secret: String,
    /// The newest generated API key, if any.
    pub api_key: Option<String>,
}

impl Webhook {
    /// The webhook's path with the secret's last character changed, so that it is
    /// always wrong.
    pub fn path_with_wrong_secret(&self) -> String {
        let flipped = if self.path.ends_with('0') { '1' } else { '0' };
        format!("{}{flipped}", &self.path[..self.path.len() - 1])
    }
}

impl Stack {
    /// Creates a workflow and configures its webhook as `setup` says.
    pub async fn webhook(&self, setup: Setup) -> Webhook {
        let mut admin = self.admin.clone();
        let workflow = admin
            .create_workflow(v1::CreateWorkflowRequest {
                title: "test workflow".to_owned(),
            })
            .await
            .expect("create a workflow")
            .into_inner();
        if setup.published {
            admin
                .publish_workflow(v1::PublishWorkflowRequest {
                    workflow_id: workflow.id.clone(),
                    definition_json: String::new(),
                })
                .await
                .expect("publish the workflow");
        }
        let webhook = admin
            .update_webhook(v1::UpdateWebhookRequest {
                workflow_id: workflow.id.clone(),
                status: Some(setup.status.to_owned()),
                methods: Some(strings(&setup.methods)),
                allowlisted_cidrs: Some(strings(&setup.allowlist)),
                include_headers: Some(setup.include_headers),
                dedup: None,
            })
            .await
            .expect("configure the webhook")
            .into_inner();

        let mut api_key = None;
        for step in setup.api_key {
            let request = workflow.id.clone();
            match step {
                "generate" => {
                    let generated = admin
                        .generate_api_key(v1::GenerateApiKeyRequest {
                            workflow_id: request,
                        })
                        .await
                        .expect("generate an API key")
                        .into_inner();
                    api_key = Some(generated.api_key);
                }
                "revoke" => {
                    admin
                        .revoke_api_key(v1::RevokeApiKeyRequest {
                            workflow_id: request,
                        })
                        .await
                        .expect("revoke the API key");
                }
                "delete" => {
                    admin
                        .delete_api_key(v1::DeleteApiKeyRequest {
                            workflow_id: request,
                        })
                        .await
                        .expect("delete the API key");
                }
                other => panic!("unknown API key step {other}"),
            }
        }

        let path = format!(
            "/{}",
            webhook
                .url
                .splitn(4, '/')
                .nth(3)
                .expect("the webhook URL has a path")
        );
        let secret = path.rsplit('/').next().unwrap_or_default().to_owned();
        Webhook {
            workflow_id: workflow.id,
            path,
            secret,
            api_key,
        }
    }

    /// Sends one request to the ingress.
    pub async fn send(&self, request: Request) -> Response {
        http::send(self.http, request).await
    }

    /// The stored executions of a workflow, newest first, read through the admin API.
    pub async fn executions(&self, workflow_id: &str) -> Vec<v1::Execution> {
        self.admin
            .clone()
            .list_executions(v1::ListExecutionsRequest {
                workflow_id: workflow_id.to_owned(),
                limit: 10_000,
            })
            .await
            .expect("list executions")
            .into_inner()
            .executions
    }

    /// The TRIGGER of every stored execution of a workflow, in a stable order (sorted
    /// by their JSON text) so that a test can compare them with a list.
    pub async fn triggers(&self, workflow_id: &str) -> Vec<Value> {
        let mut triggers: Vec<Value> = self
            .executions(workflow_id)
            .await
            .iter()
            .map(|execution| {
                serde_json::from_str(&execution.trigger_json).expect("trigger_json is JSON")
            })
            .collect();
        triggers.sort_by_key(|trigger| trigger.to_string());
        triggers
    }

    /// How many executions the database holds in all, counted with SQL so the admin
    /// API is not the only witness.
    pub async fn stored_executions(&self) -> i64 {
        let client = database::client(&self.database_url).await;
        client
            .query_one("SELECT count(*) FROM executions", &[])
            .await
            .expect("count executions")
            .get(0)
    }
}

fn strings(values: &[&str]) -> v1::StringList {
    v1::StringList {
        values: values.iter().map(|v| (*v).to_owned()).collect(),
    }
}
