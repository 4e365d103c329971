//! Migrations, and a database that is not there.

use std::time::Duration;

use sluice_proto::v1;
use tonic::Code;

use crate::support;

#[tokio::test]
async fn migrations_apply_once_even_when_run_concurrently() {
    let Some(server_url) = support::server_url() else {
        return;
    };
    let (name, url) = support::create_database(&server_url).await;
    let (first, second) =
        tokio::join!(sluice_control::migrate(&url), sluice_control::migrate(&url));
    first.unwrap();
    second.unwrap();
    sluice_control::migrate(&url).await.unwrap();

    let db = support::connect(&url).await;
    let versions: Vec<i32> = db
        .query(
            "SELECT version FROM schema_migrations ORDER BY version",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    // Each migration file once: its number is the version it records.
    let mut expected: Vec<i32> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
            .unwrap()
            .filter_map(|entry| {
                let name = entry.unwrap().file_name().into_string().unwrap();
                name.strip_suffix(".sql")?.split('_').next()?.parse().ok()
            })
            .collect();
    expected.sort_unstable();
    assert_eq!(versions, expected);
    drop(db);
    support::drop_database(&server_url, &name).await;
}

#[tokio::test]
async fn unreachable_database_is_unavailable_without_details() {
    // Nothing listens on port 1 of the loopback interface, so this needs no server.
    let (shutdown, task, channel) =
        support::serve("postgres://nobody:hunter2@127.0.0.1:1/nothing").await;
    let mut admin = sluice_proto::v1::admin_client::AdminClient::new(channel);
    let status = admin
        .list_workflows(v1::ListWorkflowsRequest {})
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(status.message(), "database unavailable");

    shutdown.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .expect("the control plane drains within 20 s")
        .unwrap()
        .unwrap();
}
