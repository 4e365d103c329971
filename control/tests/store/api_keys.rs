//! API keys: generation, revocation, deletion and use times.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::STANDARD};
use sluice_proto::v1;

use crate::{
    calls::{config, create_execution, create_workflow, execution_request, ready_workflow},
    support,
};

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
