//! Group commit: concurrent execution creations share transactions, so that one
//! synchronous commit (one WAL flush) makes many requests durable at once.
//!
//! Requests wait in one queue for a few writer tasks. A writer that becomes free takes
//! everything queued at that moment and writes it in one transaction; there is no timer,
//! so a lone request is written at once and batches grow only when the database is the
//! bottleneck. Every request keeps its own outcome: the checks are made per request,
//! a request's executions are written all or none, and a batch that fails because of
//! one request's content is written again one request at a time, so that only that
//! request fails.

mod write;

use std::sync::Arc;

use anyhow::anyhow;
use tokio::{
    sync::{Mutex, mpsc, oneshot},
    task::JoinHandle,
};

use sluice_proto::v1::create_execution_response::Outcome;

use crate::{
    error::Error,
    executions::{Created, NewExecutions},
    metrics::Metrics,
    store::{Store, StoreError},
    watch::Arrivals,
    workflows,
};

/// Writers used when the configuration does not say. Two keep one transaction filling
/// while the other commits; more make smaller batches and so more commits for the same
/// load. Measured with bench/run on a 2-core machine, two beat four by 15-35 % up to 64
/// connections and tied at 256.
pub const DEFAULT_WRITERS: usize = 2;

/// A batch stops growing at this many requests, executions or trigger bytes, which
/// bounds the size of one statement, of one transaction and of the memory its encoding
/// takes (every writer encodes its batch at the same time).
const MAX_BATCH_REQUESTS: usize = 1_024;
const MAX_BATCH_EXECUTIONS: usize = 50_000;
const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;

/// The queue in front of the writers; cheap to clone.
#[derive(Clone)]
pub struct GroupCommit {
    queue: mpsc::UnboundedSender<Job>,
}

struct Job {
    request: NewExecutions,
    reply: oneshot::Sender<Result<Created, Error>>,
}

impl GroupCommit {
    /// Starts `writers` writer tasks (at least one). They end once every handle is
    /// dropped and the queue is empty.
    /// Every commit that creates executions is announced through `arrivals`.
    pub fn spawn(
        store: Store,
        writers: usize,
        metrics: Metrics,
        arrivals: Arrivals,
    ) -> (Self, Vec<JoinHandle<()>>) {
        let (queue, jobs) = mpsc::unbounded_channel();
        let jobs = Arc::new(Mutex::new(jobs));
        let tasks = (0..writers.max(1))
            .map(|_| {
                tokio::spawn(writer(
                    store.clone(),
                    jobs.clone(),
                    metrics.clone(),
                    arrivals.clone(),
                ))
            })
            .collect();
        (Self { queue }, tasks)
    }

    /// Creates every execution of one request, all or none, and answers once they are
    /// committed. A retry of a request that was already committed creates nothing and
    /// returns the first ids.
    pub async fn create(&self, request: NewExecutions) -> Result<Created, Error> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job { request, reply })
            .map_err(|_| Error::Internal(anyhow!("the execution writers have stopped")))?;
        answer
            .await
            .map_err(|_| Error::Internal(anyhow!("an execution writer ended without answering")))?
    }
}

async fn writer(
    store: Store,
    jobs: Arc<Mutex<mpsc::UnboundedReceiver<Job>>>,
    metrics: Metrics,
    arrivals: Arrivals,
) {
    while let Some(batch) = next_batch(&jobs).await {
        metrics.commit_batch(batch.len());
        if write_batch(&store, batch).await {
            arrivals.committed();
        }
    }
}

/// Waits for one job, then takes whatever else is already queued. Only one idle
/// writer waits on the queue at a time; the others wait for the lock, so a writer that
/// finishes a batch finds everything that queued up meanwhile.
async fn next_batch(jobs: &Mutex<mpsc::UnboundedReceiver<Job>>) -> Option<Vec<Job>> {
    let mut jobs = jobs.lock().await;
    let first = jobs.recv().await?;
    let mut executions = first.request.triggers.len();
    let mut bytes = first.request.trigger_bytes();
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH_REQUESTS
        && executions < MAX_BATCH_EXECUTIONS
        && bytes < MAX_BATCH_BYTES
    {
        let Ok(job) = jobs.try_recv() else { break };
        executions += job.request.triggers.len();
        bytes += job.request.trigger_bytes();
        batch.push(job);
    }
    Some(batch)
}

/// Writes a batch and answers its requests; true when executions may have been
/// committed (a request answered with executions, new or written before).
async fn write_batch(store: &Store, batch: Vec<Job>) -> bool {
    let (requests, replies): (Vec<_>, Vec<_>) = batch
        .into_iter()
        .map(|job| (job.request, job.reply))
        .unzip();
    let refs: Vec<&NewExecutions> = requests.iter().collect();
    let mut committed = false;

    match write::write(store, &refs).await {
        Ok(created) => {
            for (reply, created) in replies.into_iter().zip(created) {
                committed |= created.outcome == Outcome::Created;
                // A caller that gave up no longer listens; its executions stand.
                let _ = reply.send(Ok(created));
            }
        }
        // A lost database fails every request alike; retrying them one by one would
        // only wait out the same outage several times.
        Err(StoreError::Unavailable(source)) => {
            let reason = source.to_string();
            for reply in replies {
                let source = Box::new(BatchUnavailable(reason.clone()));
                let _ = reply.send(Err(Error::Store(StoreError::Unavailable(source))));
            }
        }
        Err(StoreError::Query(error)) if refs.len() == 1 => {
            let _ = single_reply(replies).send(Err(request_error(error)));
        }
        // Something in the batch was refused (most often one request's trigger that is
        // not valid JSON): find out which by writing each request on its own.
        Err(StoreError::Query(_)) => {
            for (request, reply) in refs.iter().zip(replies) {
                let result = write::write(store, &[request]).await;
                let result = match result {
                    Ok(mut created) => {
                        let created = created.remove(0);
                        committed |= created.outcome == Outcome::Created;
                        Ok(created)
                    }
                    Err(StoreError::Query(error)) => Err(request_error(error)),
                    Err(error) => Err(Error::Store(error)),
                };
                let _ = reply.send(result);
            }
        }
    }
    committed
}

fn single_reply<T>(mut replies: Vec<T>) -> T {
    replies.remove(0)
}

/// The error of a request written on its own.
fn request_error(error: tokio_postgres::Error) -> Error {
    if workflows::is_invalid_json(&error) {
        Error::invalid("invalid trigger payload")
    } else {
        Error::from(error)
    }
}

/// The database error that failed a whole batch, as each of its requests reports it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct BatchUnavailable(String);
