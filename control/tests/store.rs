//! The control plane against a real PostgreSQL, driven through its gRPC services.
//!
//! Needs `SLUICE_TEST_DATABASE_URL` (a role that may create databases); each test makes
//! and drops its own database. `SLUICE_SKIP_DB_TESTS=1` skips them instead.

mod support;

use std::time::{Duration, SystemTime};

use base64::{Engine, engine::general_purpose::STANDARD};
use sluice_proto::v1::{self, create_execution_response::Outcome};
use tokio_stream::StreamExt;
use tonic::Code;
use uuid::Uuid;

use support::Control;

async fn create_workflow(control: &Control, title: &str) -> v1::Workflow {
    control
        .admin
        .clone()
        .create_workflow(v1::CreateWorkflowRequest {
            title: title.to_owned(),
        })
        .await
        .expect("create a workflow")
        .into_inner()
}

async fn publish(
    control: &Control,
    workflow: &str,
    definition: &str,
) -> Result<i32, tonic::Status> {
    control
        .admin
        .clone()
        .publish_workflow(v1::PublishWorkflowRequest {
            workflow_id: workflow.to_owned(),
            definition_json: definition.to_owned(),
        })
        .await
        .map(|response| response.into_inner().version)
}

async fn update(
    control: &Control,
    request: v1::UpdateWebhookRequest,
) -> Result<v1::Webhook, tonic::Status> {
    control
        .admin
        .clone()
        .update_webhook(request)
        .await
        .map(tonic::Response::into_inner)
}

fn set_status(workflow: &str, status: &str) -> v1::UpdateWebhookRequest {
    v1::UpdateWebhookRequest {
        workflow_id: workflow.to_owned(),
        status: Some(status.to_owned()),
        ..Default::default()
    }
}

fn list(values: &[&str]) -> v1::StringList {
    v1::StringList {
        values: values.iter().map(|value| (*value).to_owned()).collect(),
    }
}

async fn config(control: &Control, workflow: &str) -> v1::WebhookConfig {
    control
        .ingress
        .clone()
        .get_webhook_config(v1::GetWebhookConfigRequest {
            workflow_id: workflow.to_owned(),
        })
        .await
        .expect("get the webhook config")
        .into_inner()
}

/// A workflow with a published definition and an online webhook.
async fn ready_workflow(control: &Control) -> v1::WebhookConfig {
    let workflow = create_workflow(control, "Ready").await;
    publish(control, &workflow.id, "")
        .await
        .expect("publish the workflow");
    update(control, set_status(&workflow.id, "online"))
        .await
        .expect("switch the webhook online");
    config(control, &workflow.id).await
}

fn execution_request(config: &v1::WebhookConfig, triggers: &[&str]) -> v1::CreateExecutionRequest {
    v1::CreateExecutionRequest {
        request_id: Uuid::new_v4().to_string(),
        workflow_id: config.workflow_id.clone(),
        webhook_id: config.webhook_id.clone(),
        triggers: triggers.iter().map(|t| t.as_bytes().to_vec()).collect(),
        received_at: Some(SystemTime::now().into()),
        client_ip: "203.0.113.7".to_owned(),
        method: "POST".to_owned(),
        media_type: "application/x-ndjson".to_owned(),
        api_key_used: false,
    }
}

async fn create_execution(
    control: &Control,
    request: v1::CreateExecutionRequest,
) -> Result<v1::CreateExecutionResponse, tonic::Status> {
    control
        .ingress
        .clone()
        .create_execution(request)
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn new_workflow_has_an_offline_post_webhook() {
    let Some(control) = support::start().await else {
        return;
    };
    let workflow = create_workflow(&control, "  Orders ").await;
    assert!(
        workflow.id.starts_with("wf_") && workflow.id.len() == 25,
        "{}",
        workflow.id
    );
    assert_eq!(workflow.title, "Orders");
    assert_eq!(workflow.published_version, None);

    let webhook = control
        .admin
        .clone()
        .get_webhook(v1::GetWebhookRequest {
            workflow_id: workflow.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(webhook.workflow_id, workflow.id);
    assert_eq!(webhook.status, "offline");
    assert_eq!(webhook.methods, ["POST"]);
    assert!(webhook.allowlisted_cidrs.is_empty());
    assert!(!webhook.include_headers);
    assert_eq!(webhook.api_key, None);

    // The URL carries the derived secret, and the ingress gets only its digest.
    let config = config(&control, &workflow.id).await;
    let secret = sluice_proto::secrets::derive_url_secret(
        Uuid::parse_str(&config.webhook_id).unwrap(),
        support::SIGNING_SECRET,
    );
    assert_eq!(
        webhook.url,
        format!(
            "https://hooks.example.com/api/webhooks/{}/{secret}",
            workflow.id
        )
    );
    assert_eq!(config.status(), v1::WebhookStatus::Offline);
    assert_eq!(config.methods, ["POST"]);
    assert_eq!(config.published_version, None);
    assert_eq!(
        config.secret_sha256,
        [sluice_proto::secrets::url_secret_digest(&secret).to_vec()]
    );
    assert_eq!(config.api_key, None);
    let uuid = sluice_proto::ids::WorkflowId::parse(&workflow.id)
        .unwrap()
        .uuid();
    assert_eq!(config.workflow_id, uuid.to_string());

    // Every spelling of the id names the same workflow.
    let by_uuid = control
        .admin
        .clone()
        .get_workflow(v1::GetWorkflowRequest {
            workflow_id: uuid.simple().to_string(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_uuid.id, workflow.id);
    control.stop().await;
}

#[tokio::test]
async fn empty_title_and_unknown_workflows_are_refused() {
    let Some(control) = support::start().await else {
        return;
    };
    let status = control
        .admin
        .clone()
        .create_workflow(v1::CreateWorkflowRequest {
            title: "   ".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.message(), "Title must not be empty");
    assert_eq!(control.count("SELECT count(*) FROM workflows").await, 0);

    for id in ["wf_nope", &format!("wf-{}", Uuid::new_v4().simple())] {
        let status = control
            .admin
            .clone()
            .get_webhook(v1::GetWebhookRequest {
                workflow_id: id.to_owned(),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::NotFound, "{id}");
        assert_eq!(status.message(), format!("Workflow not found: {id}"));
    }
    let status = control
        .ingress
        .clone()
        .get_webhook_config(v1::GetWebhookConfigRequest {
            workflow_id: Uuid::new_v4().to_string(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    control.stop().await;
}

#[tokio::test]
async fn publishing_twice_gives_version_two() {
    let Some(control) = support::start().await else {
        return;
    };
    let workflow = create_workflow(&control, "Versions").await;
    assert_eq!(publish(&control, &workflow.id, "").await.unwrap(), 1);
    assert_eq!(
        publish(&control, &workflow.id, r#"{"steps": [1]}"#)
            .await
            .unwrap(),
        2
    );

    let status = publish(&control, &workflow.id, "{not json")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status
            .message()
            .starts_with("Workflow definition is not valid JSON")
    );

    let got = control
        .admin
        .clone()
        .get_workflow(v1::GetWorkflowRequest {
            workflow_id: workflow.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.published_version, Some(2));
    assert_eq!(
        config(&control, &workflow.id).await.published_version,
        Some(2)
    );

    let stored = control
        .db
        .query(
            "SELECT version, definition::text FROM workflow_definitions ORDER BY version",
            &[],
        )
        .await
        .unwrap();
    let stored: Vec<(i32, String)> = stored.iter().map(|row| (row.get(0), row.get(1))).collect();
    assert_eq!(
        stored,
        [(1, "{}".to_owned()), (2, r#"{"steps": [1]}"#.to_owned())]
    );
    control.stop().await;
}

#[tokio::test]
async fn concurrent_publishes_get_distinct_versions() {
    let Some(control) = support::start().await else {
        return;
    };
    let workflow = create_workflow(&control, "Busy").await;
    let publishes = (0..8).map(|_| publish(&control, &workflow.id, "{}"));
    let mut versions: Vec<i32> = futures_util::future::join_all(publishes)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    versions.sort_unstable();
    assert_eq!(versions, (1..=8).collect::<Vec<_>>());
    control.stop().await;
}

#[tokio::test]
async fn update_webhook_normalises_the_allowlist_and_methods() {
    let Some(control) = support::start().await else {
        return;
    };
    let workflow = create_workflow(&control, "Allowlist").await;
    let updated = update(
        &control,
        v1::UpdateWebhookRequest {
            workflow_id: workflow.id.clone(),
            status: Some("online".to_owned()),
            methods: Some(list(&["get", "POST", "post"])),
            allowlisted_cidrs: Some(list(&["192.168.1.5/24", " 10.0.0.1 ", "192.168.1.0/24"])),
            include_headers: Some(true),
        },
    )
    .await
    .unwrap();
    assert_eq!(updated.status, "online");
    assert_eq!(updated.methods, ["GET", "POST"]);
    assert_eq!(updated.allowlisted_cidrs, ["192.168.1.0/24", "10.0.0.1/32"]);
    assert!(updated.include_headers);

    let row = control
        .db
        .query_one(
            "SELECT status, methods, allowlisted_cidrs, include_headers FROM webhooks",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "online");
    assert_eq!(row.get::<_, Vec<String>>(1), ["GET", "POST"]);
    assert_eq!(
        row.get::<_, Vec<String>>(2),
        ["192.168.1.0/24", "10.0.0.1/32"]
    );
    assert!(row.get::<_, bool>(3));

    // Refused updates name the problem and change nothing.
    for (request, message) in [
        (
            v1::UpdateWebhookRequest {
                workflow_id: workflow.id.clone(),
                allowlisted_cidrs: Some(list(&["10.0.0.0/8", "2001:db8::/32"])),
                ..Default::default()
            },
            "Only IPv4 CIDR ranges are supported: 2001:db8::/32",
        ),
        (
            v1::UpdateWebhookRequest {
                workflow_id: workflow.id.clone(),
                allowlisted_cidrs: Some(list(&["example.com"])),
                ..Default::default()
            },
            "Invalid IP allowlist entry: example.com",
        ),
        (
            v1::UpdateWebhookRequest {
                workflow_id: workflow.id.clone(),
                methods: Some(list(&["PUT"])),
                ..Default::default()
            },
            "Unsupported method: PUT (allowed: GET, POST)",
        ),
        (
            set_status(&workflow.id, "paused"),
            "Unsupported status: paused (allowed: online, offline)",
        ),
    ] {
        let status = update(&control, request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{message}");
        assert_eq!(status.message(), message);
    }

    // Only the fields that are set change; an empty entry clears the allowlist.
    let cleared = update(
        &control,
        v1::UpdateWebhookRequest {
            workflow_id: workflow.id.clone(),
            allowlisted_cidrs: Some(list(&[""])),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(cleared.allowlisted_cidrs.is_empty());
    assert_eq!(cleared.status, "online");
    assert_eq!(cleared.methods, ["GET", "POST"]);
    assert!(cleared.include_headers);
    control.stop().await;
}

#[tokio::test]
async fn api_keys_are_generated_revoked_and_deleted() {
    let Some(control) = support::start().await else {
        return;
    };
    let workflow = create_workflow(&control, "Keys").await;
    let generated = control
        .admin
        .clone()
        .generate_api_key(v1::GenerateApiKeyRequest {
            workflow_id: workflow.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let key = generated.api_key.clone();
    let body = key.strip_prefix("tc_sk_").expect("keys start with tc_sk_");
    assert!(
        body.len() >= 40 && body.bytes().all(|b| b.is_ascii_alphanumeric()),
        "{key}"
    );
    assert_eq!(
        generated.preview,
        format!("tc_sk_...{}", &key[key.len() - 4..])
    );

    // The ingress gets the salted hash, which verifies the key.
    let material = config(&control, &workflow.id).await.api_key.unwrap();
    assert!(material.active);
    let salt: [u8; 16] = STANDARD
        .decode(&material.salt_b64)
        .unwrap()
        .try_into()
        .unwrap();
    assert_eq!(
        material.hash_hex,
        sluice_proto::secrets::api_key_hash(&key, &salt)
    );
    let stored: String = control
        .db
        .query_one("SELECT row_to_json(k)::text FROM webhook_api_keys k", &[])
        .await
        .unwrap()
        .get(0);
    assert!(!stored.contains(body), "the key itself is not stored");

    // Revoking twice keeps the first revocation time.
    let revoke = || {
        let mut admin = control.admin.clone();
        let workflow_id = workflow.id.clone();
        async move {
            admin
                .revoke_api_key(v1::RevokeApiKeyRequest { workflow_id })
                .await
                .unwrap();
        }
    };
    revoke().await;
    let get_webhook = || {
        let mut admin = control.admin.clone();
        let workflow_id = workflow.id.clone();
        async move {
            admin
                .get_webhook(v1::GetWebhookRequest { workflow_id })
                .await
                .unwrap()
                .into_inner()
        }
    };
    let revoked = get_webhook().await.api_key.unwrap();
    assert!(!revoked.is_active);
    assert!(revoked.revoked_at.is_some());
    assert!(!config(&control, &workflow.id).await.api_key.unwrap().active);
    revoke().await;
    assert_eq!(
        get_webhook().await.api_key.unwrap().revoked_at,
        revoked.revoked_at
    );

    // Generating again replaces the key and clears the revocation.
    let replacement = control
        .admin
        .clone()
        .generate_api_key(v1::GenerateApiKeyRequest {
            workflow_id: workflow.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_ne!(replacement.api_key, key);
    let info = get_webhook().await.api_key.unwrap();
    assert!(info.is_active);
    assert_eq!(info.revoked_at, None);
    assert_eq!(info.preview, replacement.preview);
    assert_eq!(
        control.count("SELECT count(*) FROM webhook_api_keys").await,
        1
    );

    // Deleting is idempotent and turns key protection off.
    for _ in 0..2 {
        control
            .admin
            .clone()
            .delete_api_key(v1::DeleteApiKeyRequest {
                workflow_id: workflow.id.clone(),
            })
            .await
            .unwrap();
        assert_eq!(get_webhook().await.api_key, None);
        assert_eq!(config(&control, &workflow.id).await.api_key, None);
    }
    revoke().await;
    assert_eq!(
        control.count("SELECT count(*) FROM webhook_api_keys").await,
        0
    );
    control.stop().await;
}

#[tokio::test]
async fn create_execution_retry_returns_the_same_ids() {
    let Some(control) = support::start().await else {
        return;
    };
    let config = ready_workflow(&control).await;
    let request = execution_request(&config, &[r#"{"n":1}"#, "", "[1,2]"]);

    let first = create_execution(&control, request.clone()).await.unwrap();
    assert_eq!(first.outcome(), Outcome::Created);
    assert_eq!(first.wf_exec_ids.len(), 3);
    let short = sluice_proto::ids::WorkflowId::parse(&config.workflow_id)
        .unwrap()
        .short();
    assert_eq!(first.wf_id, short);
    for id in &first.wf_exec_ids {
        assert!(id.starts_with(&format!("{short}/exec_")), "{id}");
    }

    let again = create_execution(&control, request).await.unwrap();
    assert_eq!(again.outcome(), Outcome::Created);
    assert_eq!(again.wf_exec_ids, first.wf_exec_ids);
    assert_eq!(control.count("SELECT count(*) FROM executions").await, 3);

    // Stored in order, with the request's metadata; an empty trigger is null.
    let listed = control
        .admin
        .clone()
        .list_executions(v1::ListExecutionsRequest {
            workflow_id: config.workflow_id.clone(),
            limit: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .executions;
    let listed: Vec<String> = listed.into_iter().map(|e| e.wf_exec_id).collect();
    let newest_first: Vec<String> = first.wf_exec_ids.iter().rev().cloned().collect();
    assert_eq!(listed, newest_first);

    let second = control
        .admin
        .clone()
        .get_execution(v1::GetExecutionRequest {
            wf_exec_id: first.wf_exec_ids[1].clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.trigger_json, "null");
    assert_eq!(second.workflow_id, short);
    assert_eq!(second.webhook_id, config.webhook_id);
    assert_eq!(second.definition_version, 1);
    assert_eq!(second.status, "queued");
    assert_eq!(second.trigger_type, "webhook");
    assert_eq!(second.client_ip, "203.0.113.7");
    assert_eq!(second.method, "POST");
    assert_eq!(second.media_type, "application/x-ndjson");
    let triggers = control
        .db
        .query(
            "SELECT coalesce(trigger::text, 'null') FROM executions ORDER BY request_seq",
            &[],
        )
        .await
        .unwrap();
    let triggers: Vec<String> = triggers.iter().map(|row| row.get(0)).collect();
    assert_eq!(triggers, [r#"{"n": 1}"#, "null", "[1, 2]"]);
    control.stop().await;
}

#[tokio::test]
async fn refused_requests_store_nothing() {
    let Some(control) = support::start().await else {
        return;
    };

    // Online but nothing published.
    let workflow = create_workflow(&control, "Unpublished").await;
    update(&control, set_status(&workflow.id, "online"))
        .await
        .unwrap();
    let unpublished = config(&control, &workflow.id).await;
    let response = create_execution(&control, execution_request(&unpublished, &["{}"]))
        .await
        .unwrap();
    assert_eq!(response.outcome(), Outcome::NotPublished);
    assert!(response.wf_exec_ids.is_empty());

    // Published but switched offline.
    let offline = ready_workflow(&control).await;
    update(&control, set_status(&offline.workflow_id, "offline"))
        .await
        .unwrap();
    let response = create_execution(&control, execution_request(&offline, &["{}", "{}"]))
        .await
        .unwrap();
    assert_eq!(response.outcome(), Outcome::WebhookOffline);
    assert!(response.wf_exec_ids.is_empty());

    // A workflow or webhook that does not exist.
    let mut missing = offline.clone();
    missing.webhook_id = Uuid::new_v4().to_string();
    let response = create_execution(&control, execution_request(&missing, &["{}"]))
        .await
        .unwrap();
    assert_eq!(response.outcome(), Outcome::WebhookNotFound);
    missing.workflow_id = Uuid::new_v4().to_string();
    let response = create_execution(&control, execution_request(&missing, &["{}"]))
        .await
        .unwrap();
    assert_eq!(response.outcome(), Outcome::WebhookNotFound);

    assert_eq!(control.count("SELECT count(*) FROM executions").await, 0);
    control.stop().await;
}

#[tokio::test]
async fn malformed_execution_requests_are_invalid_arguments() {
    let Some(control) = support::start().await else {
        return;
    };
    let config = ready_workflow(&control).await;

    // jsonb cannot hold a NUL character; the whole request is refused.
    let request = execution_request(&config, &["{}", r#"{"a":"\u0000"}"#]);
    let status = create_execution(&control, request).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.message(), "invalid trigger payload");

    let mut request = execution_request(&config, &["{}"]);
    request.request_id = "not-a-uuid".to_owned();
    let status = create_execution(&control, request).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);

    let status = create_execution(&control, execution_request(&config, &[]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);

    assert_eq!(control.count("SELECT count(*) FROM executions").await, 0);
    control.stop().await;
}

#[tokio::test]
async fn executions_are_listed_newest_first_within_the_limit() {
    let Some(control) = support::start().await else {
        return;
    };
    let config = ready_workflow(&control).await;
    let mut created = Vec::new();
    for n in 0..3 {
        let trigger = format!(r#"{{"n":{n}}}"#);
        let response = create_execution(&control, execution_request(&config, &[&trigger]))
            .await
            .unwrap();
        created.extend(response.wf_exec_ids);
    }
    let list = |limit| {
        let mut admin = control.admin.clone();
        let workflow_id = config.workflow_id.clone();
        async move {
            admin
                .list_executions(v1::ListExecutionsRequest { workflow_id, limit })
                .await
                .map(|response| response.into_inner().executions)
        }
    };
    let newest: Vec<String> = list(2)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.wf_exec_id)
        .collect();
    assert_eq!(newest, [created[2].clone(), created[1].clone()]);

    let status = list(10_001).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.message(), "Limit must be between 1 and 10000");

    let status = control
        .admin
        .clone()
        .get_execution(v1::GetExecutionRequest {
            wf_exec_id: "wf_nope/exec_nope".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    control.stop().await;
}

async fn next_change(changes: &mut tonic::Streaming<v1::WebhookChange>) -> v1::WebhookChange {
    tokio::time::timeout(Duration::from_secs(5), changes.next())
        .await
        .expect("a change arrives within 5 s")
        .expect("the stream stays open")
        .expect("the stream carries no error")
}

/// Reads until a batch names `expected`, passing over resyncs and changes of the
/// test's `earlier` workflows (their creation may still be on its way).
async fn wait_for_change(
    changes: &mut tonic::Streaming<v1::WebhookChange>,
    expected: &str,
    earlier: &[String],
) {
    loop {
        let change = next_change(changes).await;
        if change.workflow_ids.iter().any(|id| id == expected) {
            return;
        }
        for id in &change.workflow_ids {
            assert!(earlier.contains(id), "unexpected change of {id}");
        }
    }
}

/// Waits until the control plane's listener has run LISTEN, so that no notification
/// sent from now on is missed.
async fn wait_until_listening(control: &Control) {
    for _ in 0..100 {
        let listening = control
            .count(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND query LIKE 'LISTEN %'",
            )
            .await;
        if listening > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the change listener listens within 5 s");
}

fn uuid_of(workflow: &v1::Workflow) -> String {
    sluice_proto::ids::WorkflowId::parse(&workflow.id)
        .expect("the control plane returns valid workflow ids")
        .uuid()
        .to_string()
}

#[tokio::test]
async fn watchers_hear_of_every_webhook_change() {
    let Some(control) = support::start().await else {
        return;
    };
    let [updated, keyed, published] = [
        create_workflow(&control, "Updated").await,
        create_workflow(&control, "Keyed").await,
        create_workflow(&control, "Published").await,
    ];
    let mut changes = control
        .ingress
        .clone()
        .watch_webhooks(v1::WatchWebhooksRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(
        next_change(&mut changes).await.resync,
        "the first message is a resync"
    );
    wait_until_listening(&control).await;

    let earlier = [uuid_of(&updated), uuid_of(&keyed), uuid_of(&published)];
    update(&control, set_status(&updated.id, "online"))
        .await
        .unwrap();
    wait_for_change(&mut changes, &earlier[0], &earlier).await;

    control
        .admin
        .clone()
        .generate_api_key(v1::GenerateApiKeyRequest {
            workflow_id: keyed.id.clone(),
        })
        .await
        .unwrap();
    wait_for_change(&mut changes, &earlier[1], &earlier).await;

    publish(&control, &published.id, "{}").await.unwrap();
    wait_for_change(&mut changes, &earlier[2], &earlier).await;
    drop(changes);
    control.stop().await;
}

#[tokio::test]
async fn api_key_use_is_recorded_without_a_write_per_request() {
    let Some(control) = support::start().await else {
        return;
    };
    let config = ready_workflow(&control).await;
    let workflow = sluice_proto::ids::WorkflowId::parse(&config.workflow_id)
        .unwrap()
        .short();
    control
        .admin
        .clone()
        .generate_api_key(v1::GenerateApiKeyRequest {
            workflow_id: workflow.clone(),
        })
        .await
        .unwrap();

    let mut request = execution_request(&config, &["{}"]);
    request.api_key_used = true;
    create_execution(&control, request).await.unwrap();

    let mut last_used_at = None;
    for _ in 0..40 {
        let webhook = control
            .admin
            .clone()
            .get_webhook(v1::GetWebhookRequest {
                workflow_id: workflow.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        last_used_at = webhook.api_key.unwrap().last_used_at;
        if last_used_at.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(last_used_at.is_some(), "last_used_at is written within 4 s");
    control.stop().await;
}

#[tokio::test]
async fn pending_key_use_is_written_on_shutdown() {
    let Some(mut control) = support::start().await else {
        return;
    };
    let config = ready_workflow(&control).await;
    let workflow = sluice_proto::ids::WorkflowId::parse(&config.workflow_id)
        .unwrap()
        .short();
    control
        .admin
        .clone()
        .generate_api_key(v1::GenerateApiKeyRequest {
            workflow_id: workflow,
        })
        .await
        .unwrap();
    let mut request = execution_request(&config, &["{}"]);
    request.api_key_used = true;
    create_execution(&control, request).await.unwrap();

    // Stop straight away, before the once-a-second flush is due, then look.
    control.stop_server().await;
    let used = control
        .count("SELECT count(*) FROM webhook_api_keys WHERE last_used_at IS NOT NULL")
        .await;
    assert_eq!(used, 1);
    control.stop().await;
}

#[tokio::test]
async fn migrations_apply_once_even_when_run_concurrently() {
    let Some(server_url) = support::server_url() else {
        return;
    };
    let (name, url) = support::create_database(&server_url).await;
    let (first, second) =
        tokio::join!(sluice_control::migrate(&url), sluice_control::migrate(&url));
    first.unwrap();
    second.unwrap();
    sluice_control::migrate(&url).await.unwrap();

    let db = support::connect(&url).await;
    let versions: Vec<i32> = db
        .query(
            "SELECT version FROM schema_migrations ORDER BY version",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(versions, [1]);
    drop(db);
    support::drop_database(&server_url, &name).await;
}

#[tokio::test]
async fn unreachable_database_is_unavailable_without_details() {
    // Nothing listens on port 1 of the loopback interface, so this needs no server.
    let (shutdown, task, channel) =
        support::serve("postgres://nobody:hunter2@127.0.0.1:1/nothing").await;
    let mut admin = sluice_proto::v1::admin_client::AdminClient::new(channel);
    let status = admin
        .list_workflows(v1::ListWorkflowsRequest {})
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(status.message(), "database unavailable");

    shutdown.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .expect("the control plane drains within 20 s")
        .unwrap()
        .unwrap();
}

/// Ends every other session on the test's database, as a restarted server would.
async fn terminate_other_sessions(control: &Control) -> i64 {
    control
        .count(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .await
}

#[tokio::test]
async fn lost_connections_resync_watchers_and_recover() {
    let Some(control) = support::start().await else {
        return;
    };
    let workflow = create_workflow(&control, "Survivor").await;
    let mut changes = control
        .ingress
        .clone()
        .watch_webhooks(v1::WatchWebhooksRequest {})
        .await
        .unwrap()
        .into_inner();
    wait_until_listening(&control).await;
    let uuid = uuid_of(&workflow);
    // Once a change made after LISTEN has arrived, every resync sent before it has been
    // read; only changes of this workflow may still be queued.
    update(&control, set_status(&workflow.id, "offline"))
        .await
        .unwrap();
    wait_for_change(&mut changes, &uuid, &[]).await;

    assert!(terminate_other_sessions(&control).await >= 1);

    // The listener reconnects and tells watchers that changes may have been missed.
    loop {
        let change = next_change(&mut changes).await;
        if change.resync {
            break;
        }
        assert_eq!(change.workflow_ids, std::slice::from_ref(&uuid));
    }

    // Calls on pooled connections that were cut fail as UNAVAILABLE, then succeed.
    let mut recovered = None;
    for _ in 0..50 {
        match update(&control, set_status(&workflow.id, "online")).await {
            Ok(webhook) => {
                recovered = Some(webhook);
                break;
            }
            Err(status) => {
                assert_eq!(status.code(), Code::Unavailable, "{status:?}");
                assert_eq!(status.message(), "database unavailable");
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(recovered.expect("the pool recovers").status, "online");
    wait_for_change(&mut changes, &uuid, &[]).await;
    drop(changes);
    control.stop().await;
}
