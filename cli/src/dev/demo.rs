//! The demo workflow `sluice dev` sets up so that there is something to send to: a
//! published workflow whose webhook is online for POST. Its id is kept in the data dir
//! and reused while the workflow exists.

use anyhow::{Context, anyhow};
use sluice_proto::v1::{
    CreateWorkflowRequest, GetWebhookRequest, GetWorkflowRequest, PublishWorkflowRequest,
    StringList, UpdateWebhookRequest, Webhook, admin_client::AdminClient,
};
use tonic::{Code, Status, service::interceptor::InterceptedService, transport::Channel};
use tracing::info;

use super::data_dir::DataDir;
use crate::admin::Bearer;

type Admin = AdminClient<InterceptedService<Channel, Bearer>>;

const TITLE: &str = "Demo webhook";

/// The demo workflow's webhook, created first if needed.
pub async fn ensure(
    control_url: &str,
    admin_token: &str,
    data_dir: &DataDir,
) -> anyhow::Result<Webhook> {
    let channel = Channel::from_shared(control_url.to_owned())
        .with_context(|| format!("invalid control plane URL: {control_url}"))?
        .connect()
        .await
        .with_context(|| format!("connect to the control plane at {control_url}"))?;
    let mut admin = AdminClient::with_interceptor(channel, Bearer::new(Some(admin_token))?);

    let existing = match data_dir.demo_workflow() {
        Some(id) => find(&mut admin, id).await?,
        None => None,
    };
    let workflow_id = match existing {
        Some(id) => id,
        None => create(&mut admin, data_dir).await?,
    };

    let request = GetWebhookRequest { workflow_id };
    let webhook = admin.get_webhook(request).await.map_err(failure)?;
    Ok(webhook.into_inner())
}

async fn find(admin: &mut Admin, id: String) -> anyhow::Result<Option<String>> {
    let request = GetWorkflowRequest { workflow_id: id };
    match admin.get_workflow(request).await {
        Ok(workflow) => Ok(Some(workflow.into_inner().id)),
        Err(status) if matches!(status.code(), Code::NotFound | Code::InvalidArgument) => Ok(None),
        Err(status) => Err(failure(status)).context("look up the demo workflow"),
    }
}

async fn create(admin: &mut Admin, data_dir: &DataDir) -> anyhow::Result<String> {
    let request = CreateWorkflowRequest {
        title: TITLE.to_owned(),
    };
    let workflow = admin
        .create_workflow(request)
        .await
        .map_err(failure)
        .context("create the demo workflow")?
        .into_inner();

    let request = PublishWorkflowRequest {
        workflow_id: workflow.id.clone(),
        definition_json: "{}".to_owned(),
    };
    admin
        .publish_workflow(request)
        .await
        .map_err(failure)
        .context("publish the demo workflow")?;

    let request = UpdateWebhookRequest {
        workflow_id: workflow.id.clone(),
        status: Some("online".to_owned()),
        methods: Some(StringList {
            values: vec!["POST".to_owned()],
        }),
        allowlisted_cidrs: None,
        include_headers: None,
        dedup: None,
    };
    admin
        .update_webhook(request)
        .await
        .map_err(failure)
        .context("put the demo webhook online")?;

    data_dir.remember_demo_workflow(&workflow.id)?;
    info!(workflow_id = %workflow.id, "created the demo workflow");
    Ok(workflow.id)
}

fn failure(status: Status) -> anyhow::Error {
    anyhow!("{:?}: {}", status.code(), status.message())
}
