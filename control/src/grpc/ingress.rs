//! The `IngressControl` service: the calls the ingress makes.

use std::{
    net::IpAddr,
    time::{Instant, SystemTime},
};

use sluice_proto::{
    ids::WorkflowId,
    v1::{self, create_execution_response::Outcome, ingress_control_server::IngressControl},
};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use tracing::{Instrument, Span, field};
use uuid::Uuid;

use super::Shared;
use crate::{error::Error, executions::NewExecutions, watch, webhooks};

pub struct IngressControlService {
    shared: Shared,
}

impl IngressControlService {
    pub fn new(shared: Shared) -> Self {
        Self { shared }
    }
}

#[tonic::async_trait]
impl IngressControl for IngressControlService {
    #[tracing::instrument(
        name = "IngressControl.GetWebhookConfig",
        skip_all,
        fields(workflow_id = %request.get_ref().workflow_id)
    )]
    async fn get_webhook_config(
        &self,
        request: Request<v1::GetWebhookConfigRequest>,
    ) -> Result<Response<v1::WebhookConfig>, Status> {
        let shared = &self.shared;
        webhooks::config(&shared.store, &shared.urls, &request.get_ref().workflow_id)
            .await
            .map(Response::new)
            .map_err(|error| shared.status(error))
    }

    async fn create_execution(
        &self,
        request: Request<v1::CreateExecutionRequest>,
    ) -> Result<Response<v1::CreateExecutionResponse>, Status> {
        let request = request.into_inner();
        let span = creation_span(&request);
        create(&self.shared, request)
            .instrument(span)
            .await
            .map(Response::new)
    }

    #[tracing::instrument(
        name = "IngressControl.CreateExecutions",
        skip_all,
        fields(requests = request.get_ref().requests.len())
    )]
    async fn create_executions(
        &self,
        request: Request<v1::CreateExecutionsRequest>,
    ) -> Result<Response<v1::CreateExecutionsResponse>, Status> {
        let shared = &self.shared;
        // Every entry is queued for the writers in the same poll, so that they usually
        // share one transaction, and each keeps its own outcome.
        let creations = request.into_inner().requests.into_iter().map(|entry| {
            let span = creation_span(&entry);
            sluice_telemetry::propagation::adopt_parent_from(&span, &entry.trace_context);
            create(shared, entry).instrument(span)
        });
        let results = futures_util::future::join_all(creations)
            .await
            .into_iter()
            .map(|result| v1::CreateExecutionResult {
                result: Some(match result {
                    Ok(created) => v1::create_execution_result::Result::Created(created),
                    Err(status) => v1::create_execution_result::Result::Error(v1::CallError {
                        code: status.code() as i32,
                        message: status.message().to_owned(),
                    }),
                }),
            })
            .collect();
        Ok(Response::new(v1::CreateExecutionsResponse { results }))
    }

    type WatchWebhooksStream = ReceiverStream<Result<v1::WebhookChange, Status>>;

    #[tracing::instrument(name = "IngressControl.WatchWebhooks", skip_all)]
    async fn watch_webhooks(
        &self,
        _request: Request<v1::WatchWebhooksRequest>,
    ) -> Result<Response<Self::WatchWebhooksStream>, Status> {
        let shared = &self.shared;
        Ok(Response::new(watch::watch_stream(
            &shared.changes,
            shared.shutdown.clone(),
        )))
    }
}

/// The span of one request's creation, whether it came alone or in a batch.
fn creation_span(request: &v1::CreateExecutionRequest) -> Span {
    tracing::info_span!(
        "IngressControl.CreateExecution",
        workflow_id = %request.workflow_id,
        request_id = %request.request_id,
        triggers = request.triggers.len(),
        outcome = field::Empty,
    )
}

/// Creates the executions of one request, to be run inside its [`creation_span`].
async fn create(
    shared: &Shared,
    request: v1::CreateExecutionRequest,
) -> Result<v1::CreateExecutionResponse, Status> {
    let api_key_used = request.api_key_used;
    let new = parse(request).map_err(|error| shared.status(error))?;
    let (workflow, webhook) = (new.workflow, new.webhook);

    let started = Instant::now();
    let created = shared
        .executions
        .create(new)
        .instrument(insert_span())
        .await
        .map_err(|error| shared.status(error))?;
    Span::current().record("outcome", created.outcome.as_str_name());
    if created.outcome == Outcome::Created && !created.duplicate {
        let count = created.wf_exec_ids.len();
        shared
            .metrics
            .executions_committed(count, started.elapsed());
    }

    if created.outcome == Outcome::Created && api_key_used {
        shared.key_use.record(webhook, SystemTime::now());
    }
    Ok(v1::CreateExecutionResponse {
        outcome: created.outcome.into(),
        wf_id: workflow.short(),
        wf_exec_ids: created.wf_exec_ids,
        duplicate: created.duplicate,
    })
}

/// The database work of one creation: the insert transaction, and the wait for a writer
/// to take it up when several requests share one.
fn insert_span() -> Span {
    tracing::info_span!(
        "database",
        otel.name = "INSERT executions",
        otel.kind = "client",
        db.system = "postgresql",
        db.operation = "INSERT",
        db.collection.name = "executions",
    )
}

/// The request in domain terms. Every field comes from the ingress, so anything
/// malformed is a caller bug, except a trigger that PostgreSQL cannot store. Each
/// trigger is copied once, out of the received message, which is dropped right after.
fn parse(request: v1::CreateExecutionRequest) -> Result<NewExecutions, Error> {
    let request_id = Uuid::try_parse(&request.request_id)
        .map_err(|_| Error::invalid("request_id must be a UUID"))?;
    let workflow = WorkflowId::parse(&request.workflow_id)
        .ok_or_else(|| Error::invalid("workflow_id is not a workflow id"))?;
    let webhook = Uuid::try_parse(&request.webhook_id)
        .map_err(|_| Error::invalid("webhook_id must be a UUID"))?;
    if request.triggers.is_empty() {
        return Err(Error::invalid("at least one trigger is required"));
    }
    let triggers = request
        .triggers
        .into_iter()
        .map(|trigger| {
            if trigger.is_empty() {
                return Ok(None);
            }
            std::str::from_utf8(&trigger)
                .map(|text| Some(text.to_owned()))
                .map_err(|_| Error::invalid("invalid trigger payload"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let client_ip = match request.client_ip.as_str() {
        "" => None,
        text => Some(
            text.parse::<IpAddr>()
                .map_err(|_| Error::invalid("client_ip must be an IP address"))?,
        ),
    };
    let received_at = match request.received_at {
        Some(timestamp) => SystemTime::try_from(timestamp)
            .map_err(|_| Error::invalid("received_at is out of range"))?,
        None => SystemTime::now(),
    };

    Ok(NewExecutions {
        request_id,
        workflow,
        webhook,
        triggers,
        received_at,
        client_ip,
        method: request.method,
        media_type: request.media_type,
        // A key the table cannot hold is no delivery id worth believing.
        dedup_key: Some(request.dedup_key).filter(|key| !key.is_empty() && key.len() <= 512),
    })
}
