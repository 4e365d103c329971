use std::{path::PathBuf, time::Duration};

use clap::{Args, Subcommand, ValueEnum};

use super::CommaList;

/// The commands that talk to the control plane's admin API.
#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create, publish and inspect workflows.
    #[command(subcommand)]
    Workflow(WorkflowCommand),
    /// Inspect and configure a workflow's webhook.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Inspect the executions webhook requests created.
    #[command(subcommand)]
    Executions(ExecutionsCommand),
    /// Inspect the record of admin changes.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// List admin changes, newest first.
    List {
        /// Only the changes of this workflow: `wf_…`, a UUID or `wf-` and 32 hex digits.
        #[arg(long, value_name = "WF")]
        workflow: Option<String>,
        #[arg(
            long,
            value_name = "N",
            default_value_t = 100,
            value_parser = clap::value_parser!(u32).range(1..=10_000)
        )]
        limit: u32,
    },
}

#[derive(Subcommand, Debug)]
pub enum WorkflowCommand {
    /// Create a workflow; its webhook starts offline, accepting POST.
    Create {
        #[arg(long)]
        title: String,
    },
    /// Publish a new definition version; the newest one is the one that runs.
    Publish {
        /// Workflow id: `wf_…`, a UUID or `wf-` and 32 hex digits.
        #[arg(value_name = "WF")]
        workflow: String,
        /// A JSON file with the definition, or `-` for stdin [default: `{}`]
        #[arg(long, value_name = "FILE|-")]
        definition: Option<PathBuf>,
    },
    /// Show one workflow.
    Get {
        /// Workflow id: `wf_…`, a UUID or `wf-` and 32 hex digits.
        #[arg(value_name = "WF")]
        workflow: String,
    },
    /// List every workflow.
    List,
}

#[derive(Subcommand, Debug)]
pub enum WebhookCommand {
    /// Show a workflow's webhook, its URL included.
    Get {
        /// Workflow id: `wf_…`, a UUID or `wf-` and 32 hex digits.
        #[arg(value_name = "WF")]
        workflow: String,
    },
    /// Change the given settings of a workflow's webhook.
    Update(WebhookUpdateArgs),
    /// Issue a new webhook URL; the previous one keeps working for the grace period.
    RotateSecret {
        /// Workflow id: `wf_…`, a UUID or `wf-` and 32 hex digits.
        #[arg(value_name = "WF")]
        workflow: String,
        /// How long the previous URL keeps working, e.g. `24h`; `0s` retires it at once.
        #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_grace)]
        grace: Duration,
    },
    /// Manage the webhook's API key.
    #[command(subcommand)]
    ApiKey(ApiKeyCommand),
}

#[derive(Args, Debug)]
pub struct WebhookUpdateArgs {
    /// Workflow id: `wf_…`, a UUID or `wf-` and 32 hex digits.
    #[arg(value_name = "WF")]
    pub workflow: String,

    /// Whether the webhook accepts requests.
    #[arg(long, value_enum)]
    pub status: Option<WebhookStatus>,

    /// Accepted HTTP methods, e.g. `GET,POST`.
    #[arg(long, value_name = "METHOD,...", value_parser = CommaList::parse)]
    pub methods: Option<CommaList>,

    /// IPv4 addresses or CIDRs allowed to send; `''` clears the allowlist.
    #[arg(long, value_name = "CIDR,...", value_parser = CommaList::parse)]
    pub allowlist: Option<CommaList>,

    /// Whether the request headers are stored in the trigger.
    #[arg(long, value_name = "true|false", action = clap::ArgAction::Set)]
    pub include_headers: Option<bool>,

    /// Whether a repeated delivery (the same sender delivery id, e.g.
    /// `Idempotency-Key` or `X-GitHub-Delivery`) is answered with the first one's
    /// executions instead of creating new ones.
    #[arg(long, value_name = "true|false", action = clap::ArgAction::Set)]
    pub dedup: Option<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum WebhookStatus {
    Online,
    Offline,
}

impl WebhookStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Offline => "offline",
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum ApiKeyCommand {
    /// Create a key, replacing any existing one; the key is shown only this once.
    Generate {
        /// Workflow id: `wf_…`, a UUID or `wf-` and 32 hex digits.
        #[arg(value_name = "WF")]
        workflow: String,
    },
    /// Create a key, keeping the current one valid for the grace period; the new key is
    /// shown only this once.
    Rotate {
        /// Workflow id: `wf_…`, a UUID or `wf-` and 32 hex digits.
        #[arg(value_name = "WF")]
        workflow: String,
        /// How long the previous key keeps working, e.g. `1h`.
        #[arg(long, value_name = "DURATION", value_parser = parse_grace)]
        grace: Duration,
    },
    /// Revoke the key: every request is refused until a key is generated or deleted.
    Revoke {
        /// Workflow id: `wf_…`, a UUID or `wf-` and 32 hex digits.
        #[arg(value_name = "WF")]
        workflow: String,
    },
    /// Delete the key, which turns key protection off.
    Delete {
        /// Workflow id: `wf_…`, a UUID or `wf-` and 32 hex digits.
        #[arg(value_name = "WF")]
        workflow: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ExecutionsCommand {
    /// List a workflow's executions, newest first.
    List {
        /// Workflow id: `wf_…`, a UUID or `wf-` and 32 hex digits.
        #[arg(value_name = "WF")]
        workflow: String,
        #[arg(
            long,
            value_name = "N",
            default_value_t = 100,
            value_parser = clap::value_parser!(u32).range(1..=10_000)
        )]
        limit: u32,
    },
    /// Show one execution.
    Get {
        /// `wf_…/exec_…`
        #[arg(value_name = "WF_EXEC_ID")]
        wf_exec_id: String,
    },
}

/// A grace period: a `humantime` duration of whole seconds that fits the API's field.
fn parse_grace(text: &str) -> Result<Duration, String> {
    let grace = humantime::parse_duration(text).map_err(|error| error.to_string())?;
    if grace.subsec_nanos() != 0 || u32::try_from(grace.as_secs()).is_err() {
        return Err("a grace period is whole seconds, at most about 136 years".to_owned());
    }
    Ok(grace)
}
