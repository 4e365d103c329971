//! The one connection per control replica that listens for webhook changes.

use std::time::Duration;

use futures_util::{StreamExt, stream};
use tokio::{sync::watch, task::JoinHandle};
use tokio_postgres::{AsyncMessage, NoTls};
use uuid::Uuid;

use super::{Arrivals, CHANNEL, Change, Changes, EXECUTIONS_CHANNEL};

const FIRST_RETRY: Duration = Duration::from_millis(250);
const LONGEST_RETRY: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Listens for webhook changes and new executions until `shutdown` is set,
/// reconnecting with backoff when the connection is lost. After every (re)connection
/// watchers are told to resync and workers to look for executions, since notifications
/// sent while nobody listened are gone.
pub fn spawn_listener(
    mut config: tokio_postgres::Config,
    changes: Changes,
    arrivals: Arrivals,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    // A connection that only listens never writes, so a vanished server would go
    // unnoticed without keepalives.
    config
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(10))
        .keepalives_interval(Duration::from_secs(5))
        .keepalives_retries(3);

    tokio::spawn(async move {
        let mut retry = FIRST_RETRY;
        let mut failing = false;
        loop {
            let result = tokio::select! {
                result = listen(&config, &changes, &arrivals, &mut retry, &mut failing) => result,
                _ = shutdown.wait_for(|stop| *stop) => return,
            };
            if let Err(error) = result {
                if failing {
                    tracing::debug!(
                        error = format!("{error:#}"),
                        "webhook change listener still down"
                    );
                } else {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "webhook change listener lost its connection"
                    );
                    failing = true;
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(retry) => {}
                _ = shutdown.wait_for(|stop| *stop) => return,
            }
            retry = (retry * 2).min(LONGEST_RETRY);
        }
    })
}

/// Connects, listens and forwards notifications until the connection fails.
async fn listen(
    config: &tokio_postgres::Config,
    changes: &Changes,
    arrivals: &Arrivals,
    retry: &mut Duration,
    failing: &mut bool,
) -> anyhow::Result<()> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let mut messages = stream::poll_fn(move |cx| connection.poll_message(cx));

    // The connection only makes progress while it is polled, so it is polled while the
    // LISTEN command runs.
    let command = format!("LISTEN {CHANNEL}; LISTEN {EXECUTIONS_CHANNEL}");
    let listen = client.batch_execute(&command);
    tokio::pin!(listen);
    loop {
        tokio::select! {
            result = &mut listen => break result?,
            message = messages.next() => forward(message, changes, arrivals)?,
        }
    }

    if *failing {
        tracing::info!("webhook change listener reconnected");
        *failing = false;
    }
    *retry = FIRST_RETRY;
    changes.publish(Change::Resync);
    arrivals.announce();

    loop {
        forward(messages.next().await, changes, arrivals)?;
    }
}

fn forward(
    message: Option<Result<AsyncMessage, tokio_postgres::Error>>,
    changes: &Changes,
    arrivals: &Arrivals,
) -> anyhow::Result<()> {
    match message {
        Some(Ok(AsyncMessage::Notification(notification)))
            if notification.channel() == EXECUTIONS_CHANNEL =>
        {
            // This replica's own commits woke its workers when they were made.
            if !arrivals.is_own(notification.payload()) {
                arrivals.announce();
            }
            Ok(())
        }
        Some(Ok(AsyncMessage::Notification(notification))) => {
            match Uuid::try_parse(notification.payload()) {
                Ok(workflow) => changes.publish(Change::Workflow(workflow)),
                // Only this crate sends on the channel; anything else is noise.
                Err(_) => tracing::debug!("ignored a malformed webhook change notification"),
            }
            Ok(())
        }
        Some(Ok(_)) => Ok(()),
        Some(Err(error)) => Err(error.into()),
        None => Err(anyhow::anyhow!("the server closed the connection")),
    }
}
