//! Which roles may call which RPCs, by the prefix of the gRPC path
//! (`/package.Service/Method`). A path that matches no entry is refused to everyone.

use super::Role;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Served without credentials.
    Open,
    /// Served to callers holding one of these roles.
    Roles(&'static [Role]),
}

const TABLE: &[(&str, Access)] = &[
    ("/grpc.health.v1.Health/", Access::Open),
    ("/grpc.reflection.v1.ServerReflection/", Access::Open),
    (
        "/sluice.v1.IngressControl/",
        Access::Roles(&[Role::Ingress]),
    ),
    ("/sluice.v1.Admin/", Access::Roles(&[Role::Admin])),
    ("/sluice.v1.Worker/", Access::Roles(&[Role::Worker])),
];

/// Who may call `path`.
pub fn of(path: &str) -> Access {
    TABLE
        .iter()
        .find(|(prefix, _)| path.starts_with(prefix))
        .map_or(Access::Roles(&[]), |(_, access)| *access)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_service_is_open_to_its_own_role_only() {
        assert_eq!(
            of("/sluice.v1.IngressControl/CreateExecution"),
            Access::Roles(&[Role::Ingress])
        );
        assert_eq!(
            of("/sluice.v1.Admin/GetWebhook"),
            Access::Roles(&[Role::Admin])
        );
        assert_eq!(of("/grpc.health.v1.Health/Check"), Access::Open);
    }

    #[test]
    fn an_unknown_path_is_open_to_nobody() {
        assert_eq!(of("/sluice.v1.Other/Call"), Access::Roles(&[]));
        // A prefix must match up to the service's slash, not merely start alike.
        assert_eq!(of("/sluice.v1.AdminX/Call"), Access::Roles(&[]));
    }
}
