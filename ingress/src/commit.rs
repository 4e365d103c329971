//! Step 12: committing the executions of a request through the control plane.

use std::{net::IpAddr, time::SystemTime};

use bytes::Bytes;
use sluice_proto::{
    ids::WorkflowId,
    v1::{CreateExecutionRequest, create_execution_response::Outcome},
};
use uuid::Uuid;

use crate::{
    control::{ControlClient, ControlError},
    response::Reject,
    webhook::Webhook,
};

/// What the request contributes to its executions besides the triggers.
pub struct RequestFacts {
    pub received_at: SystemTime,
    pub client_ip: IpAddr,
    pub method: &'static str,
    pub media_type: String,
    pub api_key_used: bool,
    /// The sender's delivery id, if the request carries one.
    pub dedup_key: Option<String>,
}

/// The committed executions.
#[derive(Debug)]
pub struct Committed {
    pub wf_id: String,
    pub wf_exec_ids: Vec<String>,
}

/// Creates one execution per trigger, all or none. Only a `CREATED` answer counts as
/// committed; anything else is a rejection or one of our own faults.
pub async fn commit(
    control: &ControlClient,
    webhook: &Webhook,
    triggers: Vec<Vec<u8>>,
    facts: RequestFacts,
) -> Result<Committed, Reject> {
    let expected = triggers.len();
    // The other fields add at most a few hundred bytes to the triggers.
    let size: usize = triggers.iter().map(|trigger| trigger.len() + 8).sum();
    if size > sluice_proto::MAX_CREATE_EXECUTION_BYTES - 64 * 1024 {
        return Err(Reject::PayloadTooLarge);
    }
    let message = CreateExecutionRequest {
        // One id per HTTP request: retries of this call reuse it, so they cannot
        // create a second copy.
        request_id: Uuid::now_v7().to_string(),
        workflow_id: webhook.workflow_id.to_string(),
        webhook_id: webhook.webhook_id.clone(),
        triggers: triggers.into_iter().map(Bytes::from).collect(),
        received_at: Some(facts.received_at.into()),
        client_ip: facts.client_ip.to_string(),
        method: facts.method.to_owned(),
        media_type: facts.media_type,
        api_key_used: facts.api_key_used,
        dedup_key: facts.dedup_key.unwrap_or_default(),
        // Filled in only when the attempt shares a call with others.
        trace_context: Default::default(),
    };

    let response = control
        .create_execution(message)
        .await
        .map_err(|error| match error {
            // The control plane refuses what the database cannot store.
            ControlError::InvalidArgument => Reject::InvalidJson,
            ControlError::NotFound => Reject::Unauthorized,
            ControlError::Unavailable => Reject::Unavailable,
        })?;

    match response.outcome() {
        // A repeat of an earlier delivery is answered with that delivery's ids, which
        // may be more or fewer than this request's lines.
        Outcome::Created
            if response.wf_exec_ids.len() == expected
                || (response.duplicate && !response.wf_exec_ids.is_empty()) =>
        {
            Ok(Committed {
                wf_id: if response.wf_id.is_empty() {
                    WorkflowId::new(webhook.workflow_id).short()
                } else {
                    response.wf_id
                },
                wf_exec_ids: response.wf_exec_ids,
            })
        }
        Outcome::Created => {
            tracing::error!(
                expected,
                received = response.wf_exec_ids.len(),
                "the control plane confirmed a different number of executions than requested"
            );
            Err(Reject::Unavailable)
        }
        Outcome::WebhookOffline => Err(Reject::Offline),
        Outcome::NotPublished => Err(Reject::NotPublished),
        Outcome::WebhookNotFound => Err(Reject::Unauthorized),
        Outcome::Unspecified => {
            tracing::error!("the control plane answered without an outcome");
            Err(Reject::Unavailable)
        }
    }
}
