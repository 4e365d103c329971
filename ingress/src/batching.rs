//! One attempt at creating a request's executions, sent together with the attempts of
//! other requests when the control plane is busy.
//!
//! A few sender tasks carry the attempts. A sender that is free takes every attempt
//! queued at that moment: one attempt goes out as a plain `CreateExecution`, several as
//! one `CreateExecutions`. There is no timer, so a lone request is sent at once, and
//! calls only grow while earlier ones are in flight: at low load nothing waits, at high
//! load one call (one HTTP/2 stream, one header block, one dispatch on either side)
//! carries many requests. Each request keeps its own answer and its own deadline.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use sluice_proto::v1::{
    CallError, CreateExecutionRequest, CreateExecutionResponse, CreateExecutionsRequest,
    create_execution_result, ingress_control_client::IngressControlClient,
};
use tokio::sync::{Mutex, mpsc, oneshot};
use tonic::{
    Code, Request, Status,
    metadata::{Ascii, MetadataValue},
    transport::Channel,
};
use tracing::Span;

use crate::control::{authorized, bounded};

/// Calls in flight at once. More senders keep more of the control plane's writers
/// busy; fewer make each call carry more requests.
const SENDERS: usize = 8;

/// A call stops growing at this many requests or trigger bytes; a larger request goes
/// alone, up to the single call's own limit.
const MAX_BATCH_REQUESTS: usize = 512;
const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;

/// The queue in front of the senders; cheap to clone.
#[derive(Clone)]
pub struct Batcher {
    queue: mpsc::UnboundedSender<Attempt>,
}

struct Attempt {
    message: CreateExecutionRequest,
    deadline: Instant,
    /// The request's span, whose trace context the call carries.
    span: Span,
    reply: oneshot::Sender<Result<CreateExecutionResponse, Status>>,
}

impl Attempt {
    fn size(&self) -> usize {
        self.message
            .triggers
            .iter()
            .map(|trigger| trigger.len() + 8)
            .sum()
    }
}

/// What every call sends besides its message.
#[derive(Clone)]
struct Sender {
    client: IngressControlClient<Channel>,
    authorization: Option<MetadataValue<Ascii>>,
}

impl Batcher {
    /// Starts the sender tasks; they end once every handle is dropped. Must be called
    /// within a Tokio runtime.
    pub fn spawn(
        client: IngressControlClient<Channel>,
        authorization: Option<MetadataValue<Ascii>>,
    ) -> Self {
        let (queue, attempts) = mpsc::unbounded_channel();
        let attempts = Arc::new(Mutex::new(attempts));
        let sender = Sender {
            client,
            authorization,
        };
        for _ in 0..SENDERS {
            tokio::spawn(send_loop(sender.clone(), attempts.clone()));
        }
        Self { queue }
    }

    /// Sends one attempt within `timeout` and returns the control plane's answer to it,
    /// or the status the attempt failed with.
    pub async fn create(
        &self,
        message: CreateExecutionRequest,
        timeout: Duration,
    ) -> Result<CreateExecutionResponse, Status> {
        if timeout.is_zero() {
            return Err(Status::deadline_exceeded(
                "no time left for the control plane",
            ));
        }
        let deadline = Instant::now() + timeout;
        let (reply, answer) = oneshot::channel();
        let attempt = Attempt {
            message,
            deadline,
            span: Span::current(),
            reply,
        };
        self.queue
            .send(attempt)
            .map_err(|_| Status::unavailable("the ingress is shutting down"))?;
        // The sender bounds the call by the same deadline; this holds even if the
        // sender itself is stuck.
        match tokio::time::timeout_at(deadline.into(), answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(Status::unavailable("the call was dropped")),
            Err(_) => Err(Status::deadline_exceeded(
                "the control plane did not answer in time",
            )),
        }
    }
}

async fn send_loop(sender: Sender, attempts: Arc<Mutex<mpsc::UnboundedReceiver<Attempt>>>) {
    while let Some(batch) = next_batch(&attempts).await {
        sender.send(batch).await;
    }
}

/// Waits for one attempt, then takes whatever else is already queued. Only one idle
/// sender waits on the queue at a time, so a sender that finishes a call finds
/// everything that queued up meanwhile.
async fn next_batch(attempts: &Mutex<mpsc::UnboundedReceiver<Attempt>>) -> Option<Vec<Attempt>> {
    let mut attempts = attempts.lock().await;
    let first = attempts.recv().await?;
    let mut bytes = first.size();
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH_REQUESTS && bytes < MAX_BATCH_BYTES {
        let Ok(attempt) = attempts.try_recv() else {
            break;
        };
        bytes += attempt.size();
        batch.push(attempt);
    }
    Some(batch)
}

impl Sender {
    async fn send(&self, mut batch: Vec<Attempt>) {
        // An attempt whose caller has given up is not worth sending.
        let now = Instant::now();
        batch.retain(|attempt| attempt.deadline > now && !attempt.reply.is_closed());
        match batch.len() {
            0 => {}
            // A caller that gave up no longer listens; its executions may stand.
            1 => {
                let _ = self.send_one(batch.remove(0)).await;
            }
            _ => self.send_many(batch).await,
        }
    }

    async fn send_one(&self, attempt: Attempt) -> Result<(), ()> {
        let timeout = attempt.deadline.saturating_duration_since(Instant::now());
        let mut request = self.request(attempt.message, timeout);
        attempt
            .span
            .in_scope(|| sluice_telemetry::propagation::inject(request.metadata_mut()));
        let mut client = self.client.clone();
        let result = bounded(timeout, client.create_execution(request)).await;
        attempt.reply.send(result).map_err(drop)
    }

    async fn send_many(&self, batch: Vec<Attempt>) {
        // The call lasts as long as its most urgent request may wait.
        let deadline = batch
            .iter()
            .map(|attempt| attempt.deadline)
            .min()
            .expect("a batch is never empty");
        let timeout = deadline.saturating_duration_since(Instant::now());
        let mut replies = Vec::with_capacity(batch.len());
        let mut requests = Vec::with_capacity(batch.len());
        for attempt in batch {
            let mut message = attempt.message;
            message.trace_context = sluice_telemetry::propagation::context_of(&attempt.span);
            requests.push(message);
            replies.push(attempt.reply);
        }
        let mut request = self.request(CreateExecutionsRequest { requests }, timeout);
        sluice_telemetry::propagation::inject(request.metadata_mut());
        let mut client = self.client.clone();
        let answer = bounded(timeout, client.create_executions(request)).await;
        match answer {
            Ok(response) if response.results.len() == replies.len() => {
                for (reply, result) in replies.into_iter().zip(response.results) {
                    let _ = reply.send(match result.result {
                        Some(create_execution_result::Result::Created(created)) => Ok(created),
                        Some(create_execution_result::Result::Error(error)) => {
                            Err(call_error(error))
                        }
                        None => Err(Status::internal("the control plane sent an empty result")),
                    });
                }
            }
            Ok(response) => {
                tracing::error!(
                    sent = replies.len(),
                    received = response.results.len(),
                    "the control plane answered a different number of requests than sent"
                );
                for reply in replies {
                    let _ = reply.send(Err(Status::internal("mismatched batch answer")));
                }
            }
            Err(status) => {
                for reply in replies {
                    let _ = reply.send(Err(status.clone()));
                }
            }
        }
    }

    /// A call carrying the ingress's credential and its deadline.
    fn request<M>(&self, message: M, timeout: Duration) -> Request<M> {
        let mut request = authorized(message, self.authorization.as_ref());
        request.set_timeout(timeout);
        request
    }
}

fn call_error(error: CallError) -> Status {
    Status::new(Code::from_i32(error.code), error.message)
}
