//! Deduplication of sender retries: off by default; once on, a repeat of a delivery
//! (the same sender delivery id) answers with the first one's ids and creates nothing.

use futures_util::future::join_all;
use sluice_proto::v1;

use crate::harness::{Request, Setup, Stack, Webhook, database};

async fn deduplicating(stack: &Stack) -> Webhook {
    let webhook = stack.webhook(Setup::default()).await;
    let updated = stack
        .admin
        .clone()
        .update_webhook(v1::UpdateWebhookRequest {
            workflow_id: webhook.workflow_id.clone(),
            dedup: Some(true),
            ..Default::default()
        })
        .await
        .expect("turn deduplication on")
        .into_inner();
    assert!(updated.dedup);
    webhook
}

fn delivery(webhook: &Webhook, header: &str, id: &str) -> Request {
    Request::post(&webhook.path)
        .header(header, id)
        .json(r#"{"action":"opened"}"#)
}

/// The answer's `wf_exec_id`, after checking it is a 200.
async fn send(stack: &Stack, request: Request) -> String {
    let response = stack.send(request).await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    response.json()["wf_exec_id"]
        .as_str()
        .expect("a wf_exec_id")
        .to_owned()
}

#[tokio::test]
async fn fifty_concurrent_repeats_of_a_delivery_create_one_execution() {
    let stack = Stack::start().await;
    let webhook = deduplicating(&stack).await;

    let answers = join_all((0..50).map(|_| {
        send(
            &stack,
            delivery(
                &webhook,
                "X-GitHub-Delivery",
                "72d3162e-cc78-11e3-81ab-4c9367dc0958",
            ),
        )
    }))
    .await;

    assert_eq!(stack.stored_executions().await, 1);
    let stored = stack.executions(&webhook.workflow_id).await;
    assert!(
        answers.iter().all(|id| *id == stored[0].wf_exec_id),
        "{answers:?}"
    );
    stack.stop().await;
}

#[tokio::test]
async fn deduplication_is_off_by_default() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    let first = send(&stack, delivery(&webhook, "Idempotency-Key", "k-1")).await;
    let second = send(&stack, delivery(&webhook, "Idempotency-Key", "k-1")).await;
    assert_ne!(first, second);
    assert_eq!(stack.stored_executions().await, 2);
    stack.stop().await;
}

#[tokio::test]
async fn each_delivery_id_is_its_own_key_and_body_ids_count_too() {
    let stack = Stack::start().await;
    let webhook = deduplicating(&stack).await;

    let a = send(&stack, delivery(&webhook, "Idempotency-Key", "a")).await;
    let b = send(&stack, delivery(&webhook, "Idempotency-Key", "b")).await;
    assert_ne!(a, b);
    // The same id under another header is another sender's id.
    let svix = send(&stack, delivery(&webhook, "svix-id", "a")).await;
    assert_ne!(a, svix);
    assert_eq!(
        send(&stack, delivery(&webhook, "Idempotency-Key", "a")).await,
        a
    );

    let slack = || {
        Request::post(&webhook.path)
            .json(r#"{"type":"event_callback","event_id":"Ev08MFMKH6","event":{}}"#)
    };
    let first = send(&stack, slack()).await;
    assert_eq!(send(&stack, slack()).await, first);
    // Without any delivery id, every request is new.
    let plain = || Request::post(&webhook.path).json(r#"{"n":1}"#);
    assert_ne!(send(&stack, plain()).await, send(&stack, plain()).await);
    assert_eq!(stack.stored_executions().await, 6);
    stack.stop().await;
}

#[tokio::test]
async fn a_key_past_the_window_creates_a_new_execution() {
    let stack = Stack::start().await;
    let webhook = deduplicating(&stack).await;
    let first = send(&stack, delivery(&webhook, "webhook-id", "msg_1")).await;

    let client = database::client(&stack.database_url).await;
    let aged = client
        .execute(
            "UPDATE execution_dedup_keys SET created_at = now() - interval '3 days 1 minute'",
            &[],
        )
        .await
        .expect("age the key");
    assert_eq!(aged, 1);

    let second = send(&stack, delivery(&webhook, "webhook-id", "msg_1")).await;
    assert_ne!(first, second);
    // The key now belongs to the second delivery.
    assert_eq!(
        send(&stack, delivery(&webhook, "webhook-id", "msg_1")).await,
        second
    );
    assert_eq!(stack.stored_executions().await, 2);
    stack.stop().await;
}

#[tokio::test]
async fn turning_deduplication_off_makes_repeats_new_again() {
    let stack = Stack::start().await;
    let webhook = deduplicating(&stack).await;
    let first = send(&stack, delivery(&webhook, "Idempotency-Key", "k")).await;
    stack
        .admin
        .clone()
        .update_webhook(v1::UpdateWebhookRequest {
            workflow_id: webhook.workflow_id.clone(),
            dedup: Some(false),
            ..Default::default()
        })
        .await
        .expect("turn deduplication off");
    assert_ne!(
        send(&stack, delivery(&webhook, "Idempotency-Key", "k")).await,
        first
    );
    assert_eq!(stack.stored_executions().await, 2);
    stack.stop().await;
}

#[tokio::test]
async fn a_repeat_with_other_lines_creates_nothing_and_gets_the_first_ids() {
    let stack = Stack::start().await;
    let webhook = deduplicating(&stack).await;
    let ndjson = |body: &str| {
        Request::post(&webhook.path)
            .header("idempotency-key", "batch-7")
            .header("content-type", "application/x-ndjson")
            .body(body.to_owned())
    };

    let first = stack.send(ndjson("{\"n\":1}\n{\"n\":2}\n")).await;
    assert_eq!(first.status, 200);
    let repeat = stack
        .send(ndjson("{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n"))
        .await;
    assert_eq!(repeat.status, 200, "{:?}", repeat.body);
    assert_eq!(repeat.json()["wf_exec_ids"], first.json()["wf_exec_ids"]);
    assert_eq!(stack.stored_executions().await, 2);
    stack.stop().await;
}

#[tokio::test]
async fn a_delivery_the_control_plane_refused_is_written_when_it_comes_again() {
    // The control plane claims a key in the transaction that then refuses the request
    // (here: offline). The next delivery with that key must still be written, once.
    let stack = Stack::start().await;
    let webhook = deduplicating(&stack).await;
    let mut admin = stack.admin.clone();
    let set_status = |status: &str| v1::UpdateWebhookRequest {
        workflow_id: webhook.workflow_id.clone(),
        status: Some(status.to_owned()),
        ..Default::default()
    };
    let mut control = stack.ingress_control.clone();
    let config = control
        .get_webhook_config(v1::GetWebhookConfigRequest {
            workflow_id: webhook.workflow_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let delivery = || v1::CreateExecutionRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        workflow_id: config.workflow_id.clone(),
        webhook_id: config.webhook_id.clone(),
        triggers: vec![b"{}".to_vec().into()],
        received_at: Some(std::time::SystemTime::now().into()),
        client_ip: "127.0.0.1".to_owned(),
        method: "POST".to_owned(),
        media_type: "application/json".to_owned(),
        dedup_key: "webhook-id:msg_2KWPBgLlAfxdpx2AI54pPJ85f4W".to_owned(),
        ..Default::default()
    };
    use v1::create_execution_response::Outcome;

    admin.update_webhook(set_status("offline")).await.unwrap();
    let refused = control
        .create_execution(delivery())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(refused.outcome(), Outcome::WebhookOffline);
    admin.update_webhook(set_status("online")).await.unwrap();

    let accepted = control
        .create_execution(delivery())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(accepted.outcome(), Outcome::Created);
    assert_eq!(accepted.wf_exec_ids.len(), 1);
    let repeat = control
        .create_execution(delivery())
        .await
        .unwrap()
        .into_inner();
    assert!(repeat.duplicate);
    assert_eq!(repeat.wf_exec_ids, accepted.wf_exec_ids);
    assert_eq!(stack.stored_executions().await, 1);
    stack.stop().await;
}
