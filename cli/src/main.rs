//! `sluice`: runs the Sluice services and administers workflows, webhooks and
//! executions through the control plane's admin API.

mod admin;
mod args;
mod dev;
mod memory;
mod servers;
mod shutdown;
mod telemetry;

use std::process::ExitCode;

use clap::Parser;

use crate::{
    admin::{Answer, Control},
    args::{AdminCommand, Cli, Command, DEFAULT_CONTROL_URL, GlobalArgs},
    servers::Operations,
};

/// `info` for what an operator wants to see; PostgreSQL notices (such as "relation
/// already exists, skipping" from idempotent migrations) are not among it.
const DEFAULT_LOG_FILTER: &str = "info,tokio_postgres=warn";

#[tokio::main]
async fn main() -> ExitCode {
    memory::return_large_blocks_at_once();
    let cli = Cli::parse();
    let filter = cli
        .global
        .log
        .clone()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| DEFAULT_LOG_FILTER.to_owned());
    let service_name = match &cli.command {
        Command::Control(_) => "sluice-control",
        Command::Ingress(_) => "sluice-ingress",
        _ => "sluice",
    };
    let telemetry = match telemetry::init(&filter, cli.global.log_format, service_name) {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::FAILURE;
        }
    };

    let outcome = run(cli).await;
    // After the services stopped, so that their last spans are exported too.
    telemetry.shutdown();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let Cli { global, command } = cli;
    match command {
        Command::Dev(args) => dev::run(args, &global.data_dir, Operations::from(&global)).await,
        Command::Control(args) => servers::control(args, Operations::from(&global)).await,
        Command::Ingress(args) => {
            let operations = Operations::from(&global);
            let control_url = global
                .control
                .unwrap_or_else(|| DEFAULT_CONTROL_URL.to_owned());
            let control_tls = global.control_tls.control_tls()?;
            servers::ingress(args, control_url, control_tls, operations).await
        }
        Command::Migrate(args) => servers::migrate(&args.database_url).await,
        Command::Admin(admin) => {
            let answer = administer(&global, admin).await.map_err(one_line)?;
            print(&answer, global.json)
        }
    }
}

async fn administer(global: &GlobalArgs, command: AdminCommand) -> anyhow::Result<Answer> {
    // An explicit address wins; then the one a `sluice dev` in the data dir advertises.
    let url = global
        .control
        .clone()
        .or_else(|| dev::advertised_control_url(&global.data_dir))
        .unwrap_or_else(|| DEFAULT_CONTROL_URL.to_owned());
    let token = admin::admin_token(global.token_file.as_deref(), &global.data_dir)?;
    let tls = global.control_tls.control_tls()?;
    let mut control = Control::connect(&url, token.as_deref(), tls.as_ref()).await?;
    match command {
        AdminCommand::Workflow(command) => admin::workflow(&mut control, command).await,
        AdminCommand::Webhook(command) => admin::webhook(&mut control, command).await,
        AdminCommand::Executions(command) => admin::executions(&mut control, command).await,
        AdminCommand::Audit(command) => admin::audit(&mut control, command).await,
    }
}

fn print(answer: &Answer, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(&answer.json)?);
    } else {
        println!("{}", answer.text);
    }
    Ok(())
}

/// Admin failures are reported on exactly one line, whatever their causes say.
fn one_line(error: anyhow::Error) -> anyhow::Error {
    anyhow::anyhow!("{}", format!("{error:#}").replace('\n', " "))
}
