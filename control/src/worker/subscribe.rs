//! One subscribed worker's stream of leases.

use std::time::Duration;

use sluice_proto::v1::LeaseResponse;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::queue;
use crate::{error, store::Store, watch::Arrivals};

/// How often a waiting stream looks for leases that ran out. New executions never wait
/// for this: their commit wakes the stream.
const EXPIRY_RECHECK: Duration = Duration::from_secs(5);

/// What a subscription asked for.
pub struct Subscription {
    pub worker: String,
    pub limit: i64,
    pub lease: Duration,
}

/// Leases what is queued, then leases again whenever executions are committed, until
/// the worker goes away or `shutdown` is set. A database failure ends the stream with
/// its status, and the worker subscribes again.
pub fn lease_stream(
    store: Store,
    arrivals: &Arrivals,
    mut shutdown: watch::Receiver<bool>,
    subscription: Subscription,
) -> ReceiverStream<Result<LeaseResponse, Status>> {
    // Subscribing before the first lease means no commit can fall between the two.
    let mut arrived = arrivals.subscribe();
    // Room for one message: the next batch is leased only once the transport took the
    // previous one, so leases do not pile up in front of a slow worker.
    let (sender, stream) = mpsc::channel(1);

    tokio::spawn(async move {
        loop {
            let permit = tokio::select! {
                permit = sender.reserve() => match permit {
                    Ok(permit) => permit,
                    Err(_) => return,
                },
                _ = shutdown.wait_for(|stop| *stop) => return,
            };
            // Marking the arrivals as seen before leasing makes a commit that lands
            // during the lease wake the next round.
            arrived.borrow_and_update();
            let leased = match store.client().await {
                Ok(client) => {
                    queue::lease(
                        &client,
                        &subscription.worker,
                        subscription.limit,
                        subscription.lease,
                    )
                    .await
                }
                Err(unavailable) => Err(unavailable.into()),
            };
            match leased {
                Ok(executions) if !executions.is_empty() => {
                    permit.send(Ok(LeaseResponse { executions }));
                    continue;
                }
                Ok(_) => drop(permit),
                Err(failure) => {
                    permit.send(Err(error::status(failure, &store)));
                    return;
                }
            }
            tokio::select! {
                changed = arrived.changed() => if changed.is_err() { return },
                _ = tokio::time::sleep(EXPIRY_RECHECK) => {}
                _ = sender.closed() => return,
                _ = shutdown.wait_for(|stop| *stop) => return,
            }
        }
    });

    ReceiverStream::new(stream)
}
