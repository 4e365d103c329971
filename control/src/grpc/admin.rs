//! The `Admin` service: what the command line and internal services call.

use sluice_proto::v1::{self, admin_server::Admin};
use tonic::{Request, Response, Status};

use super::Shared;
use std::time::Duration;

use crate::{api_keys, audit, auth::Caller, executions, webhooks, workflows};

pub struct AdminService {
    shared: Shared,
}

impl AdminService {
    pub fn new(shared: Shared) -> Self {
        Self { shared }
    }
}

#[tonic::async_trait]
impl Admin for AdminService {
    #[tracing::instrument(name = "Admin.CreateWorkflow", skip_all, fields(workflow_id))]
    async fn create_workflow(
        &self,
        request: Request<v1::CreateWorkflowRequest>,
    ) -> Result<Response<v1::Workflow>, Status> {
        let shared = &self.shared;
        let caller = Caller::of(&request);
        let workflow = workflows::create(&shared.store, &caller, &request.get_ref().title)
            .await
            .map_err(|error| shared.status(error))?;
        tracing::Span::current().record("workflow_id", workflow.id.as_str());
        Ok(Response::new(workflow))
    }

    #[tracing::instrument(
        name = "Admin.GetWorkflow",
        skip_all,
        fields(workflow_id = %request.get_ref().workflow_id)
    )]
    async fn get_workflow(
        &self,
        request: Request<v1::GetWorkflowRequest>,
    ) -> Result<Response<v1::Workflow>, Status> {
        let shared = &self.shared;
        workflows::get(&shared.store, &request.get_ref().workflow_id)
            .await
            .map(Response::new)
            .map_err(|error| shared.status(error))
    }

    #[tracing::instrument(name = "Admin.ListWorkflows", skip_all)]
    async fn list_workflows(
        &self,
        _request: Request<v1::ListWorkflowsRequest>,
    ) -> Result<Response<v1::ListWorkflowsResponse>, Status> {
        let shared = &self.shared;
        let workflows = workflows::list(&shared.store)
            .await
            .map_err(|error| shared.status(error))?;
        Ok(Response::new(v1::ListWorkflowsResponse { workflows }))
    }

    #[tracing::instrument(
        name = "Admin.PublishWorkflow",
        skip_all,
        fields(workflow_id = %request.get_ref().workflow_id)
    )]
    async fn publish_workflow(
        &self,
        request: Request<v1::PublishWorkflowRequest>,
    ) -> Result<Response<v1::PublishWorkflowResponse>, Status> {
        let shared = &self.shared;
        let caller = Caller::of(&request);
        let request = request.get_ref();
        workflows::publish(
            &shared.store,
            &caller,
            &request.workflow_id,
            &request.definition_json,
        )
        .await
        .map(Response::new)
        .map_err(|error| shared.status(error))
    }

    #[tracing::instrument(
        name = "Admin.GetWebhook",
        skip_all,
        fields(workflow_id = %request.get_ref().workflow_id)
    )]
    async fn get_webhook(
        &self,
        request: Request<v1::GetWebhookRequest>,
    ) -> Result<Response<v1::Webhook>, Status> {
        let shared = &self.shared;
        webhooks::get(&shared.store, &shared.urls, &request.get_ref().workflow_id)
            .await
            .map(Response::new)
            .map_err(|error| shared.status(error))
    }

    #[tracing::instrument(
        name = "Admin.UpdateWebhook",
        skip_all,
        fields(workflow_id = %request.get_ref().workflow_id)
    )]
    async fn update_webhook(
        &self,
        request: Request<v1::UpdateWebhookRequest>,
    ) -> Result<Response<v1::Webhook>, Status> {
        let shared = &self.shared;
        let caller = Caller::of(&request);
        let request = request.into_inner();
        let changes = webhooks::Changes {
            status: request.status,
            methods: request.methods.map(|list| list.values),
            allowlisted_cidrs: request.allowlisted_cidrs.map(|list| list.values),
            include_headers: request.include_headers,
            dedup: request.dedup,
        };
        webhooks::update(
            &shared.store,
            &shared.urls,
            &caller,
            &request.workflow_id,
            changes,
        )
        .await
        .map(Response::new)
        .map_err(|error| shared.status(error))
    }

    #[tracing::instrument(
        name = "Admin.RotateWebhookSecret",
        skip_all,
        fields(workflow_id = %request.get_ref().workflow_id)
    )]
    async fn rotate_webhook_secret(
        &self,
        request: Request<v1::RotateWebhookSecretRequest>,
    ) -> Result<Response<v1::Webhook>, Status> {
        let shared = &self.shared;
        let caller = Caller::of(&request);
        let request = request.get_ref();
        let grace = Duration::from_secs(request.grace_seconds.into());
        webhooks::rotate_secret(
            &shared.store,
            &shared.urls,
            &caller,
            &request.workflow_id,
            grace,
        )
        .await
        .map(Response::new)
        .map_err(|error| shared.status(error))
    }

    #[tracing::instrument(
        name = "Admin.RotateApiKey",
        skip_all,
        fields(workflow_id = %request.get_ref().workflow_id)
    )]
    async fn rotate_api_key(
        &self,
        request: Request<v1::RotateApiKeyRequest>,
    ) -> Result<Response<v1::GeneratedApiKey>, Status> {
        let shared = &self.shared;
        let caller = Caller::of(&request);
        let request = request.get_ref();
        let grace = Duration::from_secs(request.grace_seconds.into());
        api_keys::rotate(&shared.store, &caller, &request.workflow_id, grace)
            .await
            .map(Response::new)
            .map_err(|error| shared.status(error))
    }

    #[tracing::instrument(
        name = "Admin.ListAuditEvents",
        skip_all,
        fields(workflow_id = %request.get_ref().workflow_id)
    )]
    async fn list_audit_events(
        &self,
        request: Request<v1::ListAuditEventsRequest>,
    ) -> Result<Response<v1::ListAuditEventsResponse>, Status> {
        let shared = &self.shared;
        let request = request.get_ref();
        let events = audit::list(&shared.store, &request.workflow_id, request.limit)
            .await
            .map_err(|error| shared.status(error))?;
        Ok(Response::new(v1::ListAuditEventsResponse { events }))
    }

    #[tracing::instrument(
        name = "Admin.GenerateApiKey",
        skip_all,
        fields(workflow_id = %request.get_ref().workflow_id)
    )]
    async fn generate_api_key(
        &self,
        request: Request<v1::GenerateApiKeyRequest>,
    ) -> Result<Response<v1::GeneratedApiKey>, Status> {
        let shared = &self.shared;
        let caller = Caller::of(&request);
        api_keys::generate(&shared.store, &caller, &request.get_ref().workflow_id)
            .await
            .map(Response::new)
            .map_err(|error| shared.status(error))
    }

    #[tracing::instrument(
        name = "Admin.RevokeApiKey",
        skip_all,
        fields(workflow_id = %request.get_ref().workflow_id)
    )]
    async fn revoke_api_key(
        &self,
        request: Request<v1::RevokeApiKeyRequest>,
    ) -> Result<Response<v1::RevokeApiKeyResponse>, Status> {
        let shared = &self.shared;
        let caller = Caller::of(&request);
        api_keys::revoke(&shared.store, &caller, &request.get_ref().workflow_id)
            .await
            .map(|()| Response::new(v1::RevokeApiKeyResponse {}))
            .map_err(|error| shared.status(error))
    }

    #[tracing::instrument(
        name = "Admin.DeleteApiKey",
        skip_all,
        fields(workflow_id = %request.get_ref().workflow_id)
    )]
    async fn delete_api_key(
        &self,
        request: Request<v1::DeleteApiKeyRequest>,
    ) -> Result<Response<v1::DeleteApiKeyResponse>, Status> {
        let shared = &self.shared;
        let caller = Caller::of(&request);
        api_keys::delete(&shared.store, &caller, &request.get_ref().workflow_id)
            .await
            .map(|()| Response::new(v1::DeleteApiKeyResponse {}))
            .map_err(|error| shared.status(error))
    }

    #[tracing::instrument(
        name = "Admin.GetExecution",
        skip_all,
        fields(wf_exec_id = %request.get_ref().wf_exec_id)
    )]
    async fn get_execution(
        &self,
        request: Request<v1::GetExecutionRequest>,
    ) -> Result<Response<v1::Execution>, Status> {
        let shared = &self.shared;
        executions::get(&shared.store, &request.get_ref().wf_exec_id)
            .await
            .map(Response::new)
            .map_err(|error| shared.status(error))
    }

    #[tracing::instrument(
        name = "Admin.ListExecutions",
        skip_all,
        fields(workflow_id = %request.get_ref().workflow_id)
    )]
    async fn list_executions(
        &self,
        request: Request<v1::ListExecutionsRequest>,
    ) -> Result<Response<v1::ListExecutionsResponse>, Status> {
        let shared = &self.shared;
        let request = request.into_inner();
        let executions = executions::list(&shared.store, &request.workflow_id, request.limit)
            .await
            .map_err(|error| shared.status(error))?;
        Ok(Response::new(v1::ListExecutionsResponse { executions }))
    }
}
