//! One watcher's stream of webhook changes.

use std::collections::HashSet;

use sluice_proto::v1::WebhookChange;
use tokio::sync::{broadcast::error::RecvError, broadcast::error::TryRecvError, mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::{Change, Changes};

/// The most workflow ids sent in one message.
const BATCH: usize = 512;

/// A stream that starts with a resync and then carries batches of changed workflows,
/// with a resync whenever this watcher may have missed changes. It ends when the
/// watcher goes away or `shutdown` is set, so that open watches do not hold up a
/// graceful shutdown.
pub fn watch_stream(
    changes: &Changes,
    mut shutdown: watch::Receiver<bool>,
) -> ReceiverStream<Result<WebhookChange, Status>> {
    // Subscribing before the first resync is sent means no change can fall between
    // the two.
    let mut receiver = changes.subscribe();
    let (sender, stream) = mpsc::channel(16);

    tokio::spawn(async move {
        let mut next = Some(resync());
        loop {
            if let Some(message) = next.take() {
                tokio::select! {
                    sent = sender.send(Ok(message)) => if sent.is_err() { return },
                    _ = shutdown.wait_for(|stop| *stop) => return,
                }
            }
            let received = tokio::select! {
                received = receiver.recv() => received,
                _ = sender.closed() => return,
                _ = shutdown.wait_for(|stop| *stop) => return,
            };
            next = match received {
                Ok(change) => Some(batch(change, &mut receiver)),
                Err(RecvError::Lagged(_)) => Some(resync()),
                Err(RecvError::Closed) => return,
            };
        }
    });

    ReceiverStream::new(stream)
}

/// `first` and every change already waiting behind it, as one message.
fn batch(first: Change, receiver: &mut tokio::sync::broadcast::Receiver<Change>) -> WebhookChange {
    let mut seen = HashSet::new();
    let mut workflow_ids = Vec::new();
    let mut change = first;
    loop {
        match change {
            Change::Resync => return resync(),
            Change::Workflow(workflow) => {
                if seen.insert(workflow) {
                    workflow_ids.push(workflow.to_string());
                }
            }
        }
        if workflow_ids.len() >= BATCH {
            break;
        }
        change = match receiver.try_recv() {
            Ok(change) => change,
            Err(TryRecvError::Lagged(_)) => return resync(),
            Err(TryRecvError::Empty | TryRecvError::Closed) => break,
        };
    }
    WebhookChange {
        resync: false,
        workflow_ids,
    }
}

fn resync() -> WebhookChange {
    WebhookChange {
        resync: true,
        workflow_ids: Vec::new(),
    }
}
