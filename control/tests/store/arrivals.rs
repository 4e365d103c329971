//! Workers hear of new executions whichever control plane replica committed them.

use std::time::Duration;

use sluice_proto::v1::{self, worker_client::WorkerClient};
use tonic::{Streaming, transport::Channel};

use crate::{
    calls::{create_execution, execution_request, ready_workflow},
    support,
};

/// Well under the lease stream's own recheck of five seconds, so that only an
/// announcement of the commit can wake a stream this fast.
const WAKE_LIMIT: Duration = Duration::from_secs(2);

async fn subscribe(channel: Channel, worker: &str) -> Streaming<v1::LeaseResponse> {
    WorkerClient::new(channel)
        .subscribe(v1::SubscribeRequest {
            worker_id: worker.to_owned(),
            max_executions: 100,
            lease_duration: Some(prost_types::Duration {
                seconds: 60,
                nanos: 0,
            }),
        })
        .await
        .expect("subscribe")
        .into_inner()
}

async fn next_lease(stream: &mut Streaming<v1::LeaseResponse>) -> v1::LeaseResponse {
    tokio::time::timeout(WAKE_LIMIT, stream.message())
        .await
        .expect("a commit wakes the stream")
        .expect("the stream is healthy")
        .expect("a message")
}

#[tokio::test]
async fn workers_of_every_replica_are_woken_by_a_commit() {
    let Some(control) = support::start().await else {
        return;
    };
    let webhook = ready_workflow(&control).await;
    let queue = |count: usize| {
        let request = execution_request(&webhook, &vec!["{}"; count]);
        let control = &control;
        async move {
            let created = create_execution(control, request).await.unwrap();
            assert_eq!(created.wf_exec_ids.len(), count);
        }
    };

    // A worker of a second replica on the same database hears of commits made
    // through the first, including commits made right after another (which the
    // first replica announces together).
    let (shutdown, task, other) = support::serve(&control.database_url()).await;
    let mut there = subscribe(other, "there").await;
    assert!(
        tokio::time::timeout(Duration::from_millis(300), there.message())
            .await
            .is_err(),
        "nothing is queued yet"
    );
    for round in 1..=3 {
        queue(round).await;
        assert_eq!(next_lease(&mut there).await.executions.len(), round);
    }
    drop(there);
    let _ = shutdown.send(());
    task.await.unwrap().unwrap();

    // A worker of the committing replica is woken too.
    let mut here = subscribe(control.channel(), "here").await;
    for round in 1..=3 {
        queue(round).await;
        assert_eq!(next_lease(&mut here).await.executions.len(), round);
    }
    drop(here);
    assert_eq!(
        control
            .count("SELECT count(*) FROM executions WHERE status = 'leased'")
            .await,
        12
    );
    control.stop().await;
}
