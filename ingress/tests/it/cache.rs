//! The configuration cache, used only while the watch stream is connected.

use std::time::{Duration, Instant};

use sluice_proto::v1::{WebhookChange, WebhookConfig, WebhookStatus};

use crate::harness::{Harness, Script, WORKFLOW, online_webhook, script};

#[tokio::test]
async fn configurations_are_cached_while_the_watch_stream_is_connected() {
    let harness = Harness::start(Script {
        resync_on_watch: true,
        ..script(online_webhook())
    })
    .await;
    harness.wait_until_cached().await;
    let fetches = harness.script().config_fetches;
    for _ in 0..3 {
        assert_eq!(harness.post("{}").await.status, 200);
    }
    assert_eq!(harness.script().config_fetches, fetches);

    // A change for the workflow makes the next request fetch again.
    harness.script().config = Some(WebhookConfig {
        status: WebhookStatus::Offline.into(),
        ..online_webhook()
    });
    let watcher = harness.script().watchers[0].clone();
    let change = WebhookChange {
        resync: false,
        workflow_ids: vec![WORKFLOW.into()],
    };
    watcher.send(Ok(change)).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    while harness.post("{}").await.status != 400 {
        assert!(
            Instant::now() < deadline,
            "the change never reached the cache"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn without_the_watch_stream_every_request_fetches() {
    let harness = Harness::start(Script {
        resync_on_watch: true,
        ..script(online_webhook())
    })
    .await;
    harness.wait_until_cached().await;

    // The stream ends and cannot be reopened: nothing cached may be used any more.
    {
        let mut script = harness.script();
        script.resync_on_watch = false;
        script.watchers.clear();
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let before = harness.script().config_fetches;
        harness.post("{}").await;
        if harness.script().config_fetches > before {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the cache was still used after the stream ended"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let before = harness.script().config_fetches;
    harness.post("{}").await;
    harness.post("{}").await;
    assert_eq!(harness.script().config_fetches, before + 2);
}
