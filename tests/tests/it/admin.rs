//! The admin API: defaults, validation messages, and what is (and is not) stored.

use sluice_proto::v1;
use tonic::Code;

use crate::harness::{Request, Setup, Stack};

async fn update(
    stack: &Stack,
    request: v1::UpdateWebhookRequest,
) -> Result<v1::Webhook, tonic::Status> {
    stack
        .admin
        .clone()
        .update_webhook(request)
        .await
        .map(tonic::Response::into_inner)
}

fn allowlist(workflow_id: &str, entries: &[&str]) -> v1::UpdateWebhookRequest {
    v1::UpdateWebhookRequest {
        workflow_id: workflow_id.to_owned(),
        allowlisted_cidrs: Some(v1::StringList {
            values: entries.iter().map(|e| (*e).to_owned()).collect(),
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn new_workflow_has_an_offline_post_webhook_and_nothing_published() {
    let stack = Stack::start().await;
    let mut admin = stack.admin.clone();
    let workflow = admin
        .create_workflow(v1::CreateWorkflowRequest {
            title: "Alerts".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(workflow.id.starts_with("wf_"));
    assert_eq!(workflow.title, "Alerts");
    assert_eq!(workflow.published_version, None);
    let webhook = admin
        .get_webhook(v1::GetWebhookRequest {
            workflow_id: workflow.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(webhook.status, "offline");
    assert_eq!(webhook.methods, vec!["POST"]);
    assert!(webhook.allowlisted_cidrs.is_empty());
    assert!(!webhook.include_headers);
    assert!(webhook.api_key.is_none());
    let secret = webhook.url.rsplit('/').next().unwrap();
    assert_eq!(secret.len(), 64);
    assert!(
        secret
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
    stack.stop().await;
}

#[tokio::test]
async fn each_publish_adds_a_version() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    let mut admin = stack.admin.clone();
    let second = admin
        .publish_workflow(v1::PublishWorkflowRequest {
            workflow_id: webhook.workflow_id.clone(),
            definition_json: r#"{"actions":[]}"#.to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.version, 2);
    let workflow = admin
        .get_workflow(v1::GetWorkflowRequest {
            workflow_id: webhook.workflow_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(workflow.published_version, Some(2));

    assert_eq!(
        stack
            .send(Request::post(&webhook.path).json("{}"))
            .await
            .status,
        200
    );
    let stored = stack.executions(&webhook.workflow_id).await;
    assert_eq!(stored[0].definition_version, 2, "the newest version runs");
    stack.stop().await;
}

#[tokio::test]
async fn allowlist_entries_are_normalised_on_write() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    let updated = update(
        &stack,
        allowlist(
            &webhook.workflow_id,
            &[
                "192.168.1.5/24",
                "10.1.2.3",
                "192.168.1.0/24",
                " 172.16.0.0/12 ",
            ],
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        updated.allowlisted_cidrs,
        vec!["192.168.1.0/24", "10.1.2.3/32", "172.16.0.0/12"]
    );
    let cleared = update(&stack, allowlist(&webhook.workflow_id, &[]))
        .await
        .unwrap();
    assert!(cleared.allowlisted_cidrs.is_empty());
    stack.stop().await;
}

#[tokio::test]
async fn allowlist_rejects_ipv6_and_garbage_with_exact_messages() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    for (entry, message) in [
        (
            "2001:db8::/32",
            "Only IPv4 CIDR ranges are supported: 2001:db8::/32",
        ),
        ("::1", "Only IPv4 CIDR ranges are supported: ::1"),
        ("10.0.0.0/33", "Invalid IP allowlist entry: 10.0.0.0/33"),
        ("example.com", "Invalid IP allowlist entry: example.com"),
    ] {
        let status = update(
            &stack,
            allowlist(&webhook.workflow_id, &["10.0.0.0/8", entry]),
        )
        .await
        .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{entry}");
        assert_eq!(status.message(), message);
    }
    let unchanged = update(
        &stack,
        v1::UpdateWebhookRequest {
            workflow_id: webhook.workflow_id.clone(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(
        unchanged.allowlisted_cidrs.is_empty(),
        "a refused update changes nothing"
    );
    stack.stop().await;
}

#[tokio::test]
async fn unknown_method_is_refused_and_methods_are_case_insensitive() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    let methods = |values: &[&str]| v1::UpdateWebhookRequest {
        workflow_id: webhook.workflow_id.clone(),
        methods: Some(v1::StringList {
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        }),
        ..Default::default()
    };
    let status = update(&stack, methods(&["GET", "PUT"])).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        status.message(),
        "Unsupported method: PUT (allowed: GET, POST)"
    );
    let updated = update(&stack, methods(&["get", "Post"])).await.unwrap();
    assert_eq!(updated.methods, vec!["GET", "POST"]);
    stack.stop().await;
}

#[tokio::test]
async fn execution_records_the_request_metadata() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    let response = stack
        .send(
            Request::post(&webhook.path)
                .header("content-type", "Application/JSON; charset=utf-8")
                .body(r#"{"a":1}"#),
        )
        .await;
    assert_eq!(response.status, 200);
    let stored = stack.executions(&webhook.workflow_id).await;
    assert_eq!(stored.len(), 1);
    let execution = &stored[0];
    assert_eq!(
        execution.wf_exec_id,
        response.json()["wf_exec_id"].as_str().unwrap()
    );
    assert_eq!(execution.workflow_id, webhook.workflow_id);
    assert_eq!(execution.trigger_type, "webhook");
    assert_eq!(execution.status, "queued");
    assert_eq!(execution.method, "POST");
    assert_eq!(execution.media_type, "application/json");
    assert_eq!(execution.client_ip, "127.0.0.1");
    assert_eq!(execution.definition_version, 1);
    assert!(execution.created_at.is_some());
    stack.stop().await;
}

#[tokio::test]
async fn list_limit_outside_its_range_is_refused() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    let status = stack
        .admin
        .clone()
        .list_executions(v1::ListExecutionsRequest {
            workflow_id: webhook.workflow_id.clone(),
            limit: 10_001,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    stack.stop().await;
}

#[tokio::test]
async fn no_secret_reaches_a_stored_row() {
    let stack = Stack::start().await;
    let webhook = stack
        .webhook(Setup {
            api_key: vec!["generate"],
            include_headers: true,
            ..Setup::default()
        })
        .await;
    let key = webhook.api_key.clone().unwrap();
    let response = stack
        .send(
            Request::post(format!("{}?echo=true", webhook.path))
                .header("x-tracecat-api-key", &key)
                .json(r#"{"a":1}"#),
        )
        .await;
    assert_eq!(response.status, 200);

    let client = crate::harness::database::client(&stack.database_url).await;
    let tables = client
        .query(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
            &[],
        )
        .await
        .unwrap();
    assert!(tables.len() >= 4);
    for table in tables {
        let name: String = table.get(0);
        let rows = client
            .query(&format!("SELECT row_to_json(t)::text FROM {name} t"), &[])
            .await
            .unwrap();
        for row in rows {
            let text: String = row.get(0);
            assert!(
                !text.contains(&webhook.secret),
                "{name} holds the URL secret"
            );
            assert!(!text.contains(&key), "{name} holds the API key");
            assert!(
                !text.contains(crate::harness::stack::SIGNING_SECRET),
                "{name} holds the signing secret"
            );
        }
    }
    stack.stop().await;
}
