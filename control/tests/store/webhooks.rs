//! Webhook settings and their normalisation.

use sluice_proto::v1;
use tonic::Code;

use crate::{
    calls::{create_workflow, list, set_status, update},
    support,
};

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
            dedup: None,
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
