//! The stream of webhook changes the ingress watches.

use std::time::Duration;

use sluice_proto::v1;
use tonic::Code;

use crate::{
    calls::{
        create_workflow, next_change, publish, set_status, terminate_other_sessions, update,
        uuid_of, wait_for_change, wait_until_listening,
    },
    support,
};

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
