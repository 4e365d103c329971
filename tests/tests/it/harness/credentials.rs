//! The credentials every test stack runs with, and the interceptor that presents one.

use sluice_proto::v1::{admin_client::AdminClient, ingress_control_client::IngressControlClient};
use tonic::{
    Request, Status,
    metadata::MetadataValue,
    service::{Interceptor, interceptor::InterceptedService},
    transport::Channel,
};

pub const INGRESS_TOKEN: &str = "test-ingress-token-3f9c1d";
pub const ADMIN_TOKEN: &str = "test-admin-token-8a2e47";
pub const WORKER_TOKEN: &str = "test-worker-token-5b7d20";

pub type Admin = AdminClient<InterceptedService<Channel, Bearer>>;
pub type IngressControl = IngressControlClient<InterceptedService<Channel, Bearer>>;

/// The control plane's configuration: one credential per role.
pub fn authentication() -> sluice_control::Authentication {
    let credential = |name: &str, role, token: &str| sluice_control::Credential {
        name: name.to_owned(),
        role,
        token: token.to_owned(),
    };
    sluice_control::Authentication::Tokens(vec![
        credential("ingress", sluice_control::Role::Ingress, INGRESS_TOKEN),
        credential("admin", sluice_control::Role::Admin, ADMIN_TOKEN),
        credential("worker", sluice_control::Role::Worker, WORKER_TOKEN),
    ])
}

/// Presents `token` as `authorization: Bearer <token>` on every call; no token sends
/// no header.
#[derive(Clone, Debug)]
pub struct Bearer(pub Option<String>);

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(token) = &self.0 {
            let value = MetadataValue::try_from(format!("Bearer {token}"))
                .map_err(|_| Status::internal("token is not a header value"))?;
            request.metadata_mut().insert("authorization", value);
        }
        Ok(request)
    }
}

/// An Admin client presenting `token`.
pub fn admin(channel: Channel, token: Option<&str>) -> Admin {
    AdminClient::with_interceptor(channel, Bearer(token.map(str::to_owned)))
}

/// An IngressControl client presenting `token`.
pub fn ingress_control(channel: Channel, token: Option<&str>) -> IngressControl {
    IngressControlClient::with_interceptor(channel, Bearer(token.map(str::to_owned)))
}
