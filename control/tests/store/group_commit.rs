//! Concurrent creations share transactions, yet each request keeps its own outcome.

use std::collections::HashSet;

use sluice_proto::v1::create_execution_response::Outcome;
use tokio::task::JoinSet;
use tonic::Code;

use crate::{
    calls::{Webhooks, execution_request, one_of_each, ready_workflow},
    support,
};

/// Enough callers at once that the writers see full queues and write batches.
const CALLERS: usize = 200;

#[tokio::test]
async fn concurrent_callers_each_get_exactly_their_executions() {
    let Some(control) = support::start().await else {
        return;
    };
    let webhook = ready_workflow(&control).await;

    let mut calls = JoinSet::new();
    for caller in 0..CALLERS {
        let mut client = control.ingress.clone();
        // Callers send one to three triggers, so that batches mix request sizes.
        let triggers: Vec<String> = (0..caller % 3 + 1)
            .map(|seq| format!(r#"{{"caller":{caller},"seq":{seq}}}"#))
            .collect();
        let triggers: Vec<&str> = triggers.iter().map(String::as_str).collect();
        let request = execution_request(&webhook, &triggers);
        calls.spawn(async move {
            let answer = client.create_execution(request.clone()).await;
            (caller, request, answer.map(tonic::Response::into_inner))
        });
    }

    let mut all_ids = HashSet::new();
    let mut expected_rows = 0;
    while let Some(joined) = calls.join_next().await {
        let (caller, request, answer) = joined.unwrap();
        let answer = answer.unwrap();
        assert_eq!(answer.outcome(), Outcome::Created, "caller {caller}");
        assert_eq!(answer.wf_exec_ids.len(), request.triggers.len());
        expected_rows += request.triggers.len();

        // The ids answered are the ones stored for this request, in trigger order,
        // with this request's own payloads.
        let rows = control
            .db
            .query(
                "SELECT wf_exec_id, trigger->>'caller', (trigger->>'seq')::int
                 FROM executions WHERE request_id = $1::text::uuid ORDER BY request_seq",
                &[&request.request_id],
            )
            .await
            .unwrap();
        let stored: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
        assert_eq!(stored, answer.wf_exec_ids, "caller {caller}");
        for (seq, row) in rows.iter().enumerate() {
            assert_eq!(row.get::<_, String>(1), caller.to_string());
            assert_eq!(row.get::<_, i32>(2), seq as i32);
        }
        for id in answer.wf_exec_ids {
            assert!(all_ids.insert(id), "an id answered to two callers");
        }
    }
    assert_eq!(
        control.count("SELECT count(*) FROM executions").await,
        expected_rows as i64
    );
    control.stop().await;
}

#[tokio::test]
async fn an_invalid_trigger_fails_only_its_own_request() {
    let Some(control) = support::start().await else {
        return;
    };
    let webhook = ready_workflow(&control).await;

    let mut calls = JoinSet::new();
    for caller in 0..CALLERS {
        let mut client = control.ingress.clone();
        // Every tenth request carries one trigger that jsonb refuses, after a valid one.
        let bad = caller % 10 == 0;
        let triggers: &[&str] = if bad {
            &[r#"{"ok":true}"#, r#"{"broken":"#]
        } else {
            &[r#"{"ok":true}"#]
        };
        let request = execution_request(&webhook, triggers);
        calls.spawn(async move { (bad, client.create_execution(request).await) });
    }

    let mut created = 0;
    while let Some(joined) = calls.join_next().await {
        let (bad, answer) = joined.unwrap();
        if bad {
            let status = answer.unwrap_err();
            assert_eq!(status.code(), Code::InvalidArgument);
            assert_eq!(status.message(), "invalid trigger payload");
        } else {
            assert_eq!(answer.unwrap().into_inner().outcome(), Outcome::Created);
            created += 1;
        }
    }
    assert_eq!(created, CALLERS - CALLERS / 10);
    // The refused requests left nothing behind, not even their valid first trigger.
    assert_eq!(
        control.count("SELECT count(*) FROM executions").await,
        created as i64
    );
    control.stop().await;
}

#[tokio::test]
async fn retries_in_flight_with_their_first_attempt_create_one_copy() {
    let Some(control) = support::start().await else {
        return;
    };
    let webhook = ready_workflow(&control).await;

    let requests: Vec<_> = (0..50)
        .map(|_| execution_request(&webhook, &[r#"{"a":1}"#, r#"{"b":2}"#]))
        .collect();
    let mut calls = JoinSet::new();
    // Each request is sent three times at once, so copies meet in one batch as well
    // as in batches of different writers.
    for (index, request) in requests.iter().enumerate() {
        for _ in 0..3 {
            let mut client = control.ingress.clone();
            let request = request.clone();
            calls.spawn(async move {
                let answer = client.create_execution(request).await.unwrap().into_inner();
                (index, answer)
            });
        }
    }
    let mut answers: Vec<Vec<Vec<String>>> = vec![Vec::new(); requests.len()];
    while let Some(joined) = calls.join_next().await {
        let (index, answer) = joined.unwrap();
        assert_eq!(answer.outcome(), Outcome::Created);
        answers[index].push(answer.wf_exec_ids);
    }
    for copies in &answers {
        assert_eq!(copies.len(), 3);
        assert_eq!(copies[0].len(), 2);
        assert!(copies.iter().all(|ids| ids == &copies[0]), "{copies:?}");
    }
    assert_eq!(control.count("SELECT count(*) FROM executions").await, 100);
    control.stop().await;
}

#[tokio::test]
async fn webhooks_in_one_batch_are_decided_each_on_its_own() {
    let Some(control) = support::start().await else {
        return;
    };
    let Webhooks {
        online,
        offline,
        unpublished,
    } = one_of_each(&control).await;

    let mut calls = JoinSet::new();
    for caller in 0..CALLERS {
        let (webhook, expected) = match caller % 3 {
            0 => (&online, Outcome::Created),
            1 => (&offline, Outcome::WebhookOffline),
            _ => (&unpublished, Outcome::NotPublished),
        };
        let mut client = control.ingress.clone();
        let request = execution_request(webhook, &["{}"]);
        calls.spawn(async move { (expected, client.create_execution(request).await) });
    }
    while let Some(joined) = calls.join_next().await {
        let (expected, answer) = joined.unwrap();
        let answer = answer.unwrap().into_inner();
        assert_eq!(answer.outcome(), expected);
        assert_eq!(answer.wf_exec_ids.is_empty(), expected != Outcome::Created);
    }
    assert_eq!(
        control.count("SELECT count(*) FROM executions").await,
        CALLERS.div_ceil(3) as i64
    );
    control.stop().await;
}
