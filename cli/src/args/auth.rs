//! The control plane's credential flags. Tokens are best given as files (readable by
//! the service's user only); the `SLUICE_…_TOKEN` variables exist for platforms that
//! inject secrets into the environment. A token is never accepted as a command-line
//! value, where any local user could read it from the process list.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use sluice_control::{Authentication, Credential, Role};

#[derive(Args, Debug, Default)]
pub struct ControlAuthArgs {
    /// A file holding the token the ingress presents to the control plane.
    #[arg(long, env = "SLUICE_INGRESS_TOKEN_FILE", value_name = "FILE")]
    pub ingress_token_file: Option<PathBuf>,
    /// A file holding the token admin callers (the CLI, internal services) present.
    #[arg(long, env = "SLUICE_ADMIN_TOKEN_FILE", value_name = "FILE")]
    pub admin_token_file: Option<PathBuf>,
    /// A file holding the token workers present to lease and complete executions.
    #[arg(long, env = "SLUICE_WORKER_TOKEN_FILE", value_name = "FILE")]
    pub worker_token_file: Option<PathBuf>,
    /// The ingress token itself, when no file is given.
    #[arg(skip = std::env::var("SLUICE_INGRESS_TOKEN").ok())]
    pub ingress_token: Option<String>,
    /// The admin token itself, when no file is given.
    #[arg(skip = std::env::var("SLUICE_ADMIN_TOKEN").ok())]
    pub admin_token: Option<String>,
    /// The worker token itself, when no file is given.
    #[arg(skip = std::env::var("SLUICE_WORKER_TOKEN").ok())]
    pub worker_token: Option<String>,
    /// Serve every caller without credentials. Only for a control plane that nothing
    /// untrusted can reach.
    #[arg(long, env = "SLUICE_INSECURE_NO_AUTH")]
    pub insecure_no_auth: bool,
}

impl ControlAuthArgs {
    /// The credentials the flags configure; `None` when they configure none.
    pub fn credentials(&self) -> anyhow::Result<Vec<Credential>> {
        let mut credentials = Vec::new();
        let given = [
            (Role::Ingress, &self.ingress_token_file, &self.ingress_token),
            (Role::Admin, &self.admin_token_file, &self.admin_token),
            (Role::Worker, &self.worker_token_file, &self.worker_token),
        ];
        for (role, file, value) in given {
            let token = match (file, value) {
                (Some(path), _) => Some(read_token(path)?),
                (None, Some(value)) => Some(non_empty(value.trim().to_owned(), role)?),
                (None, None) => None,
            };
            if let Some(token) = token {
                credentials.push(Credential {
                    name: role.as_str().to_owned(),
                    role,
                    token,
                });
            }
        }
        Ok(credentials)
    }

    /// How a standalone control plane authenticates: with the configured tokens, or
    /// not at all when that was asked for explicitly. Neither is refused.
    pub fn authentication(&self) -> anyhow::Result<Authentication> {
        let credentials = self.credentials()?;
        match (credentials.is_empty(), self.insecure_no_auth) {
            (false, false) => Ok(Authentication::Tokens(credentials)),
            (true, true) => Ok(Authentication::Disabled),
            (false, true) => bail!("--insecure-no-auth contradicts the configured tokens"),
            (true, false) => bail!(
                "no credentials configured: give --ingress-token-file and --admin-token-file \
                 (or SLUICE_INGRESS_TOKEN and SLUICE_ADMIN_TOKEN), or --insecure-no-auth"
            ),
        }
    }
}

/// The token in `path`, without surrounding whitespace.
pub fn read_token(path: &Path) -> anyhow::Result<String> {
    let token = std::fs::read_to_string(path)
        .with_context(|| format!("read the token file {}", path.display()))?;
    let token = token.trim().to_owned();
    if token.is_empty() {
        bail!("the token file {} is empty", path.display());
    }
    Ok(token)
}

fn non_empty(token: String, role: Role) -> anyhow::Result<String> {
    if token.is_empty() {
        bail!("the {role} token must not be empty");
    }
    Ok(token)
}
