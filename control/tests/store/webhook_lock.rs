//! The lock that orders execution inserts against webhook changes: an offline switch
//! waits for the inserts in flight, and an insert waits for a change in flight and then
//! reads what it committed.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use sluice_proto::v1::{self, create_execution_response::Outcome};
use tokio::task::JoinSet;

use crate::{
    calls::{execution_request, ready_workflow, set_status, update},
    support,
};

/// Creations keep arriving while the webhook is switched offline. Every creation that
/// was answered CREATED is stored, and once the switch has returned nothing more is:
/// the switch waited for the inserts in flight, and later inserts read "offline".
#[tokio::test]
async fn nothing_is_created_once_an_offline_switch_has_returned() {
    let Some(control) = support::start().await else {
        return;
    };
    let webhook = ready_workflow(&control).await;
    let created = Arc::new(AtomicUsize::new(0));
    let switched = Arc::new(AtomicBool::new(false));
    let created_after_switch = Arc::new(AtomicUsize::new(0));

    let mut senders = JoinSet::new();
    for _ in 0..16 {
        let mut client = control.ingress.clone();
        let webhook = webhook.clone();
        let (created, switched, created_after_switch) = (
            created.clone(),
            switched.clone(),
            created_after_switch.clone(),
        );
        senders.spawn(async move {
            loop {
                // Read before sending: a creation sent after the switch returned.
                let late = switched.load(Ordering::SeqCst);
                let request = execution_request(&webhook, &["{}"]);
                let answer = client.create_execution(request).await.unwrap().into_inner();
                match answer.outcome() {
                    Outcome::Created => {
                        created.fetch_add(1, Ordering::SeqCst);
                        if late {
                            created_after_switch.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    Outcome::WebhookOffline => return,
                    other => panic!("unexpected outcome {other:?}"),
                }
            }
        });
    }

    tokio::time::sleep(Duration::from_millis(300)).await;
    update(&control, set_status(&webhook.workflow_id, "offline"))
        .await
        .unwrap();
    switched.store(true, Ordering::SeqCst);
    let stored_at_switch = control.count("SELECT count(*) FROM executions").await;

    tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(joined) = senders.join_next().await {
            joined.unwrap();
        }
    })
    .await
    .expect("every sender sees the webhook offline");

    assert!(stored_at_switch > 0, "creations ran before the switch");
    assert_eq!(created_after_switch.load(Ordering::SeqCst), 0);
    let stored = control.count("SELECT count(*) FROM executions").await;
    assert_eq!(stored, stored_at_switch, "rows were added after the switch");
    assert_eq!(stored, created.load(Ordering::SeqCst) as i64);
    control.stop().await;
}

/// The advisory lock the control plane takes for a workflow's webhook: the `sluc`
/// namespace and the last four bytes of the workflow's UUID.
fn lock_of(webhook: &v1::WebhookConfig) -> (i32, i32) {
    let uuid = uuid::Uuid::parse_str(&webhook.workflow_id).expect("a canonical UUID");
    let bytes = uuid.as_bytes();
    (
        0x736c_7563,
        i32::from_be_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]),
    )
}

#[tokio::test]
async fn an_offline_switch_waits_for_an_insert_in_flight() {
    let Some(control) = support::start().await else {
        return;
    };
    let webhook = ready_workflow(&control).await;
    let (namespace, key) = lock_of(&webhook);
    // An insert in flight, as far as the lock goes.
    control.db.batch_execute("BEGIN").await.unwrap();
    control
        .db
        .execute(
            "SELECT pg_advisory_xact_lock_shared($1, $2)",
            &[&namespace, &key],
        )
        .await
        .unwrap();

    let mut admin = control.admin.clone();
    let switch = set_status(&webhook.workflow_id, "offline");
    let switching = tokio::spawn(async move { admin.update_webhook(switch).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !switching.is_finished(),
        "the switch did not wait for the insert"
    );

    control.db.batch_execute("COMMIT").await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), switching)
        .await
        .expect("the switch goes on once the insert has committed")
        .unwrap()
        .unwrap();
    control.stop().await;
}

#[tokio::test]
async fn an_insert_waits_for_a_change_in_flight_and_reads_what_it_committed() {
    let Some(control) = support::start().await else {
        return;
    };
    let webhook = ready_workflow(&control).await;
    let (namespace, key) = lock_of(&webhook);
    // An offline switch in flight, holding the lock as the control plane's would.
    control.db.batch_execute("BEGIN").await.unwrap();
    control
        .db
        .execute("SELECT pg_advisory_xact_lock($1, $2)", &[&namespace, &key])
        .await
        .unwrap();
    control
        .db
        .execute(
            "UPDATE webhooks SET status = 'offline' WHERE workflow_id = $1::text::uuid",
            &[&webhook.workflow_id],
        )
        .await
        .unwrap();

    let mut client = control.ingress.clone();
    let request = execution_request(&webhook, &["{}"]);
    let creating = tokio::spawn(async move { client.create_execution(request).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !creating.is_finished(),
        "the insert did not wait for the change"
    );

    control.db.batch_execute("COMMIT").await.unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(5), creating)
        .await
        .expect("the insert goes on once the change has committed")
        .unwrap()
        .unwrap()
        .into_inner();
    assert_eq!(answer.outcome(), Outcome::WebhookOffline);
    assert_eq!(control.count("SELECT count(*) FROM executions").await, 0);
    control.stop().await;
}
