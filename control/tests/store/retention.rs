//! Executions past the retention age are deleted in the background; newer ones stay.

use std::time::Duration;

use sluice_proto::{ids::WorkflowId, v1::create_execution_response::Outcome};
use uuid::Uuid;

use crate::{
    calls::{create_execution, execution_request, ready_workflow},
    support,
};

/// More than one delete batch, so that the deletion goes on after a full batch.
const OLD_ROWS: i64 = 12_000;

#[tokio::test]
async fn old_executions_are_deleted_and_newer_ones_kept() {
    let Some(control) = support::start().await else {
        return;
    };
    let webhook = ready_workflow(&control).await;
    let fresh = create_execution(&control, execution_request(&webhook, &["{}", "{}"]))
        .await
        .unwrap();
    assert_eq!(fresh.outcome(), Outcome::Created);

    let workflow = WorkflowId::parse(&webhook.workflow_id).unwrap().uuid();
    let webhook_id = Uuid::parse_str(&webhook.webhook_id).unwrap();
    // Rows made `age` ago, with ids of that time (UUIDv7: the time in milliseconds,
    // then random bits) as the control plane would have given them.
    let insert_aged = |rows: i64, age: &'static str, prefix: &'static str| {
        let db = &control.db;
        async move {
            db.execute(
                "INSERT INTO executions (id, wf_exec_id, workflow_id, webhook_id,
                     definition_version, request_id, request_seq, method, received_at,
                     created_at)
                 SELECT (lpad(to_hex(t.ms), 12, '0') || '7' || substr(md5(g::text), 1, 3)
                         || '8' || substr(md5(g::text), 4, 15))::uuid,
                     $4 || g, $1, $2, 1, gen_random_uuid(), 1, 'POST',
                     now() - $3::text::interval, now() - $3::text::interval
                 FROM generate_series(1, $5::bigint) AS g,
                     LATERAL (SELECT (extract(epoch FROM now() - $3::text::interval)
                                      * 1000)::bigint AS ms) AS t",
                &[&workflow, &webhook_id, &age, &prefix, &rows],
            )
            .await
            .unwrap();
        }
    };
    insert_aged(OLD_ROWS, "40 days", "old_").await;
    // Younger than the retention age by an hour: kept.
    insert_aged(10, "29 days 23 hours", "young_").await;

    let database: String = control
        .db
        .query_one("SELECT current_database()", &[])
        .await
        .unwrap()
        .get(0);
    let url = support::with_database(&support::server_url().unwrap(), &database);
    let (shutdown, task, _channel) = support::serve_with(&url, |config| {
        config.retention = Some(Duration::from_secs(30 * 24 * 3600));
    })
    .await;

    let mut left = OLD_ROWS;
    for _ in 0..200 {
        left = control
            .count("SELECT count(*) FROM executions WHERE wf_exec_id LIKE 'old_%'")
            .await;
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left, 0, "old executions are still there after 20 s");
    assert_eq!(
        control
            .count("SELECT count(*) FROM executions WHERE wf_exec_id LIKE 'young_%'")
            .await,
        10
    );
    let kept: Vec<String> = control
        .db
        .query(
            "SELECT wf_exec_id FROM executions WHERE wf_exec_id LIKE 'wf_%' ORDER BY request_seq",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(kept, fresh.wf_exec_ids);

    let _ = shutdown.send(());
    tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .expect("the second control plane drains within 20 s")
        .unwrap()
        .unwrap();
    control.stop().await;
}
