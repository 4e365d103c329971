//! `CreateExecutions`: several requests in one call, each answered as its own
//! `CreateExecution` would be.

use sluice_proto::v1::{
    self, create_execution_response::Outcome, create_execution_result::Result as Slot,
};
use tonic::Code;

use crate::{
    calls::{
        Webhooks, create_execution, execution_request, one_of_each, ready_workflow, stored_ids,
    },
    support::{self, Control},
};

/// Sends `requests` in one `CreateExecutions` call and returns the result at each
/// position.
async fn create_executions(
    control: &Control,
    requests: Vec<v1::CreateExecutionRequest>,
) -> Vec<Slot> {
    control
        .ingress
        .clone()
        .create_executions(v1::CreateExecutionsRequest { requests })
        .await
        .expect("the call is answered")
        .into_inner()
        .results
        .into_iter()
        .map(|result| result.result.expect("every slot holds a result"))
        .collect()
}

/// The executions created for a request, or a panic naming what came instead.
fn created(slot: Slot) -> v1::CreateExecutionResponse {
    match slot {
        Slot::Created(created) => created,
        Slot::Error(error) => panic!("expected an answer, got {error:?}"),
    }
}

#[tokio::test]
async fn a_batched_call_answers_each_request_as_a_call_of_its_own() {
    let Some(control) = support::start().await else {
        return;
    };
    let Webhooks {
        online,
        offline,
        unpublished,
    } = one_of_each(&control).await;

    let two_lines = execution_request(&online, &[r#"{"n":1}"#, r#"{"n":2}"#]);
    let mut not_a_uuid = execution_request(&online, &["{}"]);
    not_a_uuid.request_id = "not-a-uuid".to_owned();
    let requests = vec![
        two_lines.clone(),
        execution_request(&offline, &["{}"]),
        execution_request(&unpublished, &["{}"]),
        not_a_uuid,
        execution_request(&online, &[r#"{"ok":true}"#, r#"{"broken":"#]),
        // A retry of the first request that caught up with it.
        two_lines.clone(),
        execution_request(&online, &[""]),
    ];
    let results = create_executions(&control, requests).await;
    assert_eq!(results.len(), 7);

    let failed = |slot: &Slot| match slot {
        Slot::Error(error) => (Code::from_i32(error.code), error.message.clone()),
        Slot::Created(created) => panic!("expected an error, got {created:?}"),
    };

    let first = created(results[0].clone());
    assert_eq!(first.outcome(), Outcome::Created);
    assert_eq!(first.wf_exec_ids.len(), 2);
    assert_eq!(
        created(results[1].clone()).outcome(),
        Outcome::WebhookOffline
    );
    assert_eq!(created(results[2].clone()).outcome(), Outcome::NotPublished);
    assert_eq!(
        failed(&results[3]),
        (
            Code::InvalidArgument,
            "request_id must be a UUID".to_owned()
        )
    );
    assert_eq!(
        failed(&results[4]),
        (Code::InvalidArgument, "invalid trigger payload".to_owned())
    );
    assert_eq!(created(results[5].clone()).wf_exec_ids, first.wf_exec_ids);
    let empty = created(results[6].clone());
    assert_eq!(empty.outcome(), Outcome::Created);
    assert_eq!(empty.wf_exec_ids.len(), 1);

    // Two for the first request (once, despite its retry) and one for the empty body.
    assert_eq!(control.count("SELECT count(*) FROM executions").await, 3);
    assert_eq!(
        stored_ids(&control, &two_lines.request_id).await,
        first.wf_exec_ids
    );
    control.stop().await;
}

/// A request written by an earlier call (a retry whose first answer was lost), sent in
/// one call with new requests: the new ones are written, the repeat writes nothing and
/// gets its first ids.
#[tokio::test]
async fn a_repeat_among_new_requests_gets_its_first_ids() {
    let Some(control) = support::start().await else {
        return;
    };
    let webhook = ready_workflow(&control).await;
    let earlier = execution_request(&webhook, &[r#"{"n":1}"#, r#"{"n":2}"#]);
    let first = create_execution(&control, earlier.clone()).await.unwrap();
    assert_eq!(first.wf_exec_ids.len(), 2);

    let before = execution_request(&webhook, &[r#"{"new":"before"}"#]);
    let after = execution_request(&webhook, &[r#"{"new":"after"}"#]);
    let requests = vec![before.clone(), earlier.clone(), after.clone()];
    let ids: Vec<Vec<String>> = create_executions(&control, requests)
        .await
        .into_iter()
        .map(|slot| {
            let created = created(slot);
            assert_eq!(created.outcome(), Outcome::Created);
            created.wf_exec_ids
        })
        .collect();
    assert_eq!(ids[1], first.wf_exec_ids);

    // Two rows from the first call and one for each new request, each stored under
    // the id it was answered with.
    assert_eq!(control.count("SELECT count(*) FROM executions").await, 4);
    for (request, ids) in [(&before, &ids[0]), (&earlier, &ids[1]), (&after, &ids[2])] {
        assert_eq!(&stored_ids(&control, &request.request_id).await, ids);
    }
    control.stop().await;
}

/// Refusals in a call whose other requests are written: only the requests of online,
/// published webhooks get rows, and each refused one is told why.
#[tokio::test]
async fn refused_requests_in_a_written_call_are_each_told_why() {
    let Some(control) = support::start().await else {
        return;
    };
    let Webhooks {
        online,
        offline,
        unpublished,
    } = one_of_each(&control).await;
    let mut unknown = execution_request(&online, &["{}"]);
    unknown.workflow_id = uuid::Uuid::now_v7().to_string();
    let requests = vec![
        execution_request(&online, &[r#"{"n":1}"#]),
        execution_request(&offline, &["{}"]),
        execution_request(&unpublished, &["{}"]),
        unknown,
        execution_request(&online, &[r#"{"n":2}"#, r#"{"n":3}"#]),
    ];
    let answers: Vec<(Outcome, usize)> = create_executions(&control, requests)
        .await
        .into_iter()
        .map(created)
        .map(|created| (created.outcome(), created.wf_exec_ids.len()))
        .collect();
    assert_eq!(
        answers,
        [
            (Outcome::Created, 1),
            (Outcome::WebhookOffline, 0),
            (Outcome::NotPublished, 0),
            (Outcome::WebhookNotFound, 0),
            (Outcome::Created, 2),
        ]
    );
    assert_eq!(control.count("SELECT count(*) FROM executions").await, 3);
    assert_eq!(
        control
            .count(&format!(
                "SELECT count(*) FROM executions WHERE workflow_id = '{}'",
                online.workflow_id
            ))
            .await,
        3
    );
    control.stop().await;
}
