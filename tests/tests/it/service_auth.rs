//! Service authentication on the control plane: every gRPC call needs a bearer token
//! of a role the called service is open to.

use sluice_proto::v1;
use tonic::{Code, transport::Channel};

use crate::harness::{
    Stack,
    credentials::{self, ADMIN_TOKEN, INGRESS_TOKEN},
};

fn channel(stack: &Stack) -> Channel {
    Channel::from_shared(format!("http://{}", stack.grpc))
        .expect("control URL")
        .connect_lazy()
}

async fn admin_call(stack: &Stack, token: Option<&str>) -> Result<(), tonic::Status> {
    credentials::admin(channel(stack), token)
        .list_workflows(v1::ListWorkflowsRequest {})
        .await
        .map(drop)
}

async fn ingress_call(stack: &Stack, token: Option<&str>) -> Result<(), tonic::Status> {
    let workflow = stack
        .admin
        .clone()
        .create_workflow(v1::CreateWorkflowRequest {
            title: "auth".to_owned(),
        })
        .await
        .expect("create a workflow")
        .into_inner();
    credentials::ingress_control(channel(stack), token)
        .get_webhook_config(v1::GetWebhookConfigRequest {
            workflow_id: workflow.id,
        })
        .await
        .map(drop)
}

fn code(result: Result<(), tonic::Status>) -> Code {
    match result {
        Ok(()) => Code::Ok,
        Err(status) => status.code(),
    }
}

#[tokio::test]
async fn a_call_without_a_valid_token_is_unauthenticated() {
    let stack = Stack::start().await;
    assert_eq!(code(admin_call(&stack, None).await), Code::Unauthenticated);
    assert_eq!(
        code(admin_call(&stack, Some("not-a-token")).await),
        Code::Unauthenticated
    );
    assert_eq!(
        code(ingress_call(&stack, None).await),
        Code::Unauthenticated
    );
    // A token that differs only in its last character is no token.
    let near = format!("{}x", &ADMIN_TOKEN[..ADMIN_TOKEN.len() - 1]);
    assert_eq!(
        code(admin_call(&stack, Some(&near)).await),
        Code::Unauthenticated
    );
    stack.stop().await;
}

#[tokio::test]
async fn each_credential_may_call_only_its_own_service() {
    let stack = Stack::start().await;
    assert_eq!(code(admin_call(&stack, Some(ADMIN_TOKEN)).await), Code::Ok);
    assert_eq!(
        code(ingress_call(&stack, Some(INGRESS_TOKEN)).await),
        Code::Ok
    );
    assert_eq!(
        code(admin_call(&stack, Some(INGRESS_TOKEN)).await),
        Code::PermissionDenied
    );
    assert_eq!(
        code(ingress_call(&stack, Some(ADMIN_TOKEN)).await),
        Code::PermissionDenied
    );
    stack.stop().await;
}

#[tokio::test]
async fn health_checks_need_no_credential() {
    let stack = Stack::start().await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel(&stack));
    let answer = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("an unauthenticated health check is answered")
        .into_inner();
    assert_eq!(
        answer.status(),
        tonic_health::pb::health_check_response::ServingStatus::Serving
    );
    stack.stop().await;
}
