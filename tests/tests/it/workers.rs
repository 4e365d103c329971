//! The worker API: leases taken by many workers at once, lease expiry, the rules of
//! extending and completing, and the stream woken by new commits.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use sluice_proto::v1::{self, complete_request::Result as Outcome, worker_client::WorkerClient};
use tonic::{Code, service::interceptor::InterceptedService, transport::Channel};

use crate::harness::{
    Request, Setup, Stack, Webhook,
    credentials::{ADMIN_TOKEN, Bearer, WORKER_TOKEN},
    database,
};

type Client = WorkerClient<InterceptedService<Channel, Bearer>>;

fn client_with(stack: &Stack, token: &str) -> Client {
    let channel = Channel::from_shared(format!("http://{}", stack.grpc))
        .expect("control URL")
        .connect_lazy();
    WorkerClient::with_interceptor(channel, Bearer(Some(token.to_owned())))
}

fn worker(stack: &Stack) -> Client {
    client_with(stack, WORKER_TOKEN)
}

fn seconds(seconds: i64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration { seconds, nanos: 0 })
}

/// Creates `count` executions with one NDJSON request.
async fn queue(stack: &Stack, webhook: &Webhook, count: usize) {
    let body: String = (0..count).map(|n| format!("{{\"n\":{n}}}\n")).collect();
    let response = stack
        .send(
            Request::post(&webhook.path)
                .header("content-type", "application/x-ndjson")
                .body(body),
        )
        .await;
    assert_eq!(response.status, 200, "{:?}", response.body);
}

async fn lease(
    client: &mut Client,
    worker_id: &str,
    max: u32,
    lease_seconds: i64,
) -> Vec<v1::LeasedExecution> {
    client
        .lease(v1::LeaseRequest {
            worker_id: worker_id.to_owned(),
            max_executions: max,
            lease_duration: seconds(lease_seconds),
        })
        .await
        .expect("lease")
        .into_inner()
        .executions
}

async fn complete(
    client: &mut Client,
    worker_id: &str,
    wf_exec_id: &str,
    result: Outcome,
) -> Result<String, tonic::Status> {
    client
        .complete(v1::CompleteRequest {
            worker_id: worker_id.to_owned(),
            wf_exec_id: wf_exec_id.to_owned(),
            result: Some(result),
        })
        .await
        .map(|response| response.into_inner().status)
}

fn id(leased: &v1::LeasedExecution) -> String {
    leased
        .execution
        .as_ref()
        .expect("a leased execution carries the execution")
        .wf_exec_id
        .clone()
}

async fn statuses(stack: &Stack) -> HashMap<String, i64> {
    let client = database::client(&stack.database_url).await;
    client
        .query(
            "SELECT status, count(*) FROM executions GROUP BY status",
            &[],
        )
        .await
        .expect("count statuses")
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

#[tokio::test]
async fn eight_concurrent_workers_complete_every_execution_exactly_once() {
    const EXECUTIONS: usize = 400;
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    queue(&stack, &webhook, EXECUTIONS).await;

    let leases: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let completions: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let mut workers = Vec::new();
    for n in 0..8 {
        let mut client = worker(&stack);
        let leases = leases.clone();
        let completions = completions.clone();
        workers.push(tokio::spawn(async move {
            let name = format!("worker-{n}");
            loop {
                let batch = lease(&mut client, &name, 7, 60).await;
                if batch.is_empty() {
                    return;
                }
                for leased in batch {
                    assert_eq!(leased.attempt, 1);
                    let wf_exec_id = id(&leased);
                    *leases
                        .lock()
                        .unwrap()
                        .entry(wf_exec_id.clone())
                        .or_default() += 1;
                    let status = complete(
                        &mut client,
                        &name,
                        &wf_exec_id,
                        Outcome::Succeeded(v1::Succeeded {}),
                    )
                    .await
                    .expect("the holder of a lease completes it");
                    assert_eq!(status, "succeeded");
                    *completions.lock().unwrap().entry(wf_exec_id).or_default() += 1;
                }
            }
        }));
    }
    for worker in workers {
        worker.await.expect("worker task");
    }

    let leases = leases.lock().unwrap().clone();
    let completions = completions.lock().unwrap().clone();
    assert_eq!(leases.len(), EXECUTIONS);
    assert!(leases.values().all(|count| *count == 1), "{leases:?}");
    assert_eq!(completions.len(), EXECUTIONS);
    assert!(completions.values().all(|count| *count == 1));
    let stored: Vec<String> = stack
        .executions(&webhook.workflow_id)
        .await
        .into_iter()
        .map(|execution| execution.wf_exec_id)
        .collect();
    assert!(stored.iter().all(|id| completions.contains_key(id)));
    assert_eq!(
        statuses(&stack).await,
        HashMap::from([("succeeded".to_owned(), EXECUTIONS as i64)])
    );
    stack.stop().await;
}

#[tokio::test]
async fn an_expired_lease_returns_the_execution_to_the_queue() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    queue(&stack, &webhook, 1).await;
    let mut client = worker(&stack);

    let first = lease(&mut client, "a", 10, 1).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].attempt, 1);
    assert!(
        lease(&mut client, "b", 10, 30).await.is_empty(),
        "the lease holds"
    );
    let listed = stack.executions(&webhook.workflow_id).await;
    assert_eq!(listed[0].status, "leased");

    tokio::time::sleep(Duration::from_millis(1300)).await;
    let second = lease(&mut client, "b", 10, 30).await;
    assert_eq!(second.len(), 1);
    assert_eq!(id(&second[0]), id(&first[0]));
    assert_eq!(second[0].attempt, 2);

    // The first worker lost its lease: it can neither extend nor complete.
    let extended = client
        .extend_lease(v1::ExtendLeaseRequest {
            worker_id: "a".to_owned(),
            wf_exec_ids: vec![id(&first[0])],
            lease_duration: seconds(30),
        })
        .await
        .expect("extend")
        .into_inner();
    assert!(extended.wf_exec_ids.is_empty());
    let refused = complete(
        &mut client,
        "a",
        &id(&first[0]),
        Outcome::Succeeded(v1::Succeeded {}),
    )
    .await
    .expect_err("a lost lease cannot complete");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(
        refused.message(),
        format!("Execution {} is leased by another worker", id(&first[0]))
    );

    let failed = Outcome::Failed(v1::Failed {
        reason: "upstream said no".to_owned(),
    });
    assert_eq!(
        complete(&mut client, "b", &id(&second[0]), failed.clone())
            .await
            .expect("complete"),
        "failed"
    );
    let again = complete(&mut client, "b", &id(&second[0]), failed)
        .await
        .expect_err("a second completion is refused");
    assert_eq!(again.code(), Code::FailedPrecondition);
    assert_eq!(
        again.message(),
        format!("Execution {} is already failed", id(&second[0]))
    );
    assert!(
        lease(&mut client, "c", 10, 30).await.is_empty(),
        "complete is final"
    );
    assert_eq!(
        stack.executions(&webhook.workflow_id).await[0].status,
        "failed"
    );
    stack.stop().await;
}

#[tokio::test]
async fn only_the_owner_extends_and_only_before_expiry() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    queue(&stack, &webhook, 2).await;
    let mut client = worker(&stack);

    let leased = lease(&mut client, "a", 2, 2).await;
    let ids: Vec<String> = leased.iter().map(id).collect();
    assert_eq!(ids.len(), 2);

    let by_other = client
        .extend_lease(v1::ExtendLeaseRequest {
            worker_id: "b".to_owned(),
            wf_exec_ids: ids.clone(),
            lease_duration: seconds(60),
        })
        .await
        .expect("extend")
        .into_inner();
    assert!(by_other.wf_exec_ids.is_empty());

    let by_owner = client
        .extend_lease(v1::ExtendLeaseRequest {
            worker_id: "a".to_owned(),
            wf_exec_ids: ids.clone(),
            lease_duration: seconds(60),
        })
        .await
        .expect("extend")
        .into_inner();
    let mut extended = by_owner.wf_exec_ids.clone();
    extended.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(extended, expected);

    // Past the first lease's end, the extension keeps both out of the queue.
    tokio::time::sleep(Duration::from_millis(2300)).await;
    assert!(lease(&mut client, "b", 10, 30).await.is_empty());
    for wf_exec_id in &ids {
        assert_eq!(
            complete(
                &mut client,
                "a",
                wf_exec_id,
                Outcome::Succeeded(v1::Succeeded {})
            )
            .await
            .expect("complete"),
            "succeeded"
        );
    }

    let unknown = complete(
        &mut client,
        "a",
        "wf_nope/exec_nope",
        Outcome::Succeeded(v1::Succeeded {}),
    )
    .await
    .expect_err("an unknown execution");
    assert_eq!(unknown.code(), Code::NotFound);
    let bad = client
        .lease(v1::LeaseRequest {
            worker_id: "a".to_owned(),
            max_executions: 0,
            lease_duration: seconds(30),
        })
        .await
        .expect_err("an empty batch is refused");
    assert_eq!(bad.code(), Code::InvalidArgument);
    stack.stop().await;
}

#[tokio::test]
async fn subscribe_leases_what_is_queued_and_wakes_on_new_commits() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    queue(&stack, &webhook, 3).await;
    let mut client = worker(&stack);

    let mut stream = client
        .subscribe(v1::SubscribeRequest {
            worker_id: "s".to_owned(),
            max_executions: 10,
            lease_duration: seconds(60),
        })
        .await
        .expect("subscribe")
        .into_inner();
    let first = tokio::time::timeout(Duration::from_secs(2), stream.message())
        .await
        .expect("the backlog is leased at once")
        .expect("stream")
        .expect("a message");
    assert_eq!(first.executions.len(), 3);

    // Nothing else is queued: the stream waits.
    assert!(
        tokio::time::timeout(Duration::from_millis(500), stream.message())
            .await
            .is_err()
    );

    for round in 1..=3 {
        queue(&stack, &webhook, round).await;
        // Well under the stream's expiry recheck, so only the commit can wake it.
        let woken = tokio::time::timeout(Duration::from_secs(2), stream.message())
            .await
            .expect("a commit wakes the stream")
            .expect("stream")
            .expect("a message");
        assert_eq!(woken.executions.len(), round);
        assert!(woken.executions.iter().all(|leased| leased.attempt == 1));
    }
    assert_eq!(
        statuses(&stack).await,
        HashMap::from([("leased".to_owned(), 9)])
    );
    drop(stream);
    stack.stop().await;
}

#[tokio::test]
async fn only_the_worker_role_may_lease() {
    let stack = Stack::start().await;
    let webhook = stack.webhook(Setup::default()).await;
    queue(&stack, &webhook, 1).await;

    let refused = client_with(&stack, ADMIN_TOKEN)
        .lease(v1::LeaseRequest {
            worker_id: "a".to_owned(),
            max_executions: 1,
            lease_duration: seconds(30),
        })
        .await
        .expect_err("an admin credential may not lease");
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert_eq!(
        stack.executions(&webhook.workflow_id).await[0].status,
        "queued"
    );
    stack.stop().await;
}
