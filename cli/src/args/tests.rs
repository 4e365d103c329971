use std::{net::SocketAddr, path::Path};

use clap::{CommandFactory, Parser};

use super::*;

fn parse(args: &[&str]) -> Cli {
    Cli::try_parse_from(std::iter::once("sluice").chain(args.iter().copied()))
        .unwrap_or_else(|error| panic!("{args:?} did not parse: {error}"))
}

/// Parses with `env` as the only environment the flags see, by setting each flag's
/// environment fallback as its default instead of touching the process environment.
fn parse_with_env(args: &[&str], env: &[(&str, &'static str)]) -> Cli {
    let mut command = Cli::command();
    for (name, value) in env {
        command = command.mut_subcommands(|subcommand| {
            subcommand.mut_args(|arg| {
                if arg.get_env().is_some_and(|var| var == *name) {
                    arg.default_value(*value)
                } else {
                    arg
                }
            })
        });
    }
    let matches = command
        .try_get_matches_from(std::iter::once("sluice").chain(args.iter().copied()))
        .unwrap_or_else(|error| panic!("{args:?} did not parse: {error}"));
    <Cli as clap::FromArgMatches>::from_arg_matches(&matches).expect("matches fit Cli")
}

fn update_args(cli: Cli) -> WebhookUpdateArgs {
    match cli.command {
        Command::Admin(AdminCommand::Webhook(WebhookCommand::Update(update))) => update,
        other => panic!("parsed as {other:?}"),
    }
}

#[test]
fn the_command_tree_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn global_flags_may_stand_anywhere() {
    for args in [
        &[
            "--json",
            "--control",
            "http://127.0.0.1:1",
            "workflow",
            "list",
        ][..],
        &[
            "workflow",
            "--json",
            "list",
            "--control",
            "http://127.0.0.1:1",
        ],
        &[
            "workflow",
            "list",
            "--control",
            "http://127.0.0.1:1",
            "--json",
        ],
    ] {
        let cli = parse(args);
        assert!(cli.global.json, "{args:?}");
        assert_eq!(cli.global.control.as_deref(), Some("http://127.0.0.1:1"));
        assert!(matches!(
            cli.command,
            Command::Admin(AdminCommand::Workflow(WorkflowCommand::List))
        ));
    }
}

#[test]
fn the_data_dir_defaults_to_dot_sluice() {
    let cli = parse(&["dev"]);
    assert_eq!(cli.global.data_dir, Path::new(".sluice"));
    assert_eq!(cli.global.control, None);
}

#[test]
fn an_empty_allowlist_parses_to_an_empty_list() {
    let update = update_args(parse(&["webhook", "update", "wf_x", "--allowlist", ""]));
    assert_eq!(update.allowlist, Some(CommaList(vec![])));
    assert_eq!(update.methods, None);
    assert_eq!(update.status, None);
    assert_eq!(update.include_headers, None);
}

#[test]
fn webhook_update_parses_every_setting() {
    let update = update_args(parse(&[
        "webhook",
        "update",
        "wf_x",
        "--status",
        "online",
        "--methods",
        "GET,POST",
        "--allowlist",
        "10.0.0.0/8, 192.168.1.1",
        "--include-headers",
        "false",
    ]));
    assert_eq!(update.workflow, "wf_x");
    assert_eq!(update.status, Some(admin::WebhookStatus::Online));
    assert_eq!(
        update.methods,
        Some(CommaList(vec!["GET".into(), "POST".into()]))
    );
    assert_eq!(
        update.allowlist,
        Some(CommaList(vec!["10.0.0.0/8".into(), "192.168.1.1".into()]))
    );
    assert_eq!(update.include_headers, Some(false));
}

#[test]
fn executions_limit_defaults_to_100_and_is_bounded() {
    match parse(&["executions", "list", "wf_x"]).command {
        Command::Admin(AdminCommand::Executions(ExecutionsCommand::List { limit, .. })) => {
            assert_eq!(limit, 100);
        }
        other => panic!("parsed as {other:?}"),
    }
    for limit in ["0", "10001"] {
        let parsed =
            Cli::try_parse_from(["sluice", "executions", "list", "wf_x", "--limit", limit]);
        assert!(parsed.is_err(), "--limit {limit} was accepted");
    }
}

#[test]
fn dev_takes_every_ingress_flag_and_the_database_url() {
    let cli = parse(&[
        "dev",
        "--http",
        "127.0.0.1:0",
        "--grpc",
        "127.0.0.1:0",
        "--path-prefix",
        "/api/",
        "--trusted-proxies",
        "10.0.0.0/8,192.168.0.1",
        "--max-body-bytes",
        "1024",
        "--max-ndjson-lines",
        "5",
        "--database-url",
        "postgres://localhost/sluice",
    ]);
    let Command::Dev(dev) = cli.command else {
        panic!("not dev");
    };
    let config = dev.ingress.to_config("http://127.0.0.1:1".into()).unwrap();
    assert_eq!(config.path_prefix, "/api");
    assert_eq!(
        config.trusted_proxies,
        vec![
            "10.0.0.0/8".parse().unwrap(),
            "192.168.0.1/32".parse().unwrap()
        ]
    );
    assert_eq!(config.max_body_bytes, 1024);
    assert_eq!(config.max_ndjson_lines, 5);
    assert_eq!(
        dev.ingress.http,
        "127.0.0.1:0".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(
        dev.control.database_url.as_deref(),
        Some("postgres://localhost/sluice")
    );
}

#[test]
fn ingress_defaults_match_the_ingress_library() {
    let Command::Ingress(ingress) = parse(&["ingress"]).command else {
        panic!("not ingress");
    };
    let config = ingress.to_config("http://127.0.0.1:50051".into()).unwrap();
    let defaults = sluice_ingress::Config::default();
    assert_eq!(config.path_prefix, defaults.path_prefix);
    assert_eq!(config.trusted_proxies, defaults.trusted_proxies);
    assert_eq!(config.max_body_bytes, defaults.max_body_bytes);
    assert_eq!(config.max_ndjson_lines, defaults.max_ndjson_lines);
    assert_eq!(config.control_timeout, defaults.control_timeout);
    assert_eq!(
        ingress.http,
        "127.0.0.1:8080".parse::<SocketAddr>().unwrap()
    );
}

#[test]
fn a_path_prefix_must_start_with_a_slash() {
    assert!(Cli::try_parse_from(["sluice", "ingress", "--path-prefix", "api"]).is_err());
}

#[test]
fn server_flags_fall_back_to_the_environment() {
    let cli = parse_with_env(
        &["control"],
        &[
            ("SLUICE_DATABASE_URL", "postgres://db/sluice"),
            ("SLUICE_SIGNING_SECRET", "s3cret"),
            ("SLUICE_GRPC_ADDR", "0.0.0.0:9000"),
            ("SLUICE_PUBLIC_URL", "https://hooks.example.com/api/"),
            ("SLUICE_POOL_SIZE", "4"),
            ("SLUICE_INSECURE_NO_AUTH", "true"),
        ],
    );
    let Command::Control(control) = cli.command else {
        panic!("not control");
    };
    let config = control.to_config().unwrap();
    assert_eq!(config.database_url, "postgres://db/sluice");
    assert_eq!(config.signing_secret, "s3cret");
    assert_eq!(config.public_url, "https://hooks.example.com/api");
    assert_eq!(config.pool_size, 4);
    assert_eq!(control.grpc, "0.0.0.0:9000".parse::<SocketAddr>().unwrap());

    let cli = parse_with_env(
        &["ingress"],
        &[
            ("SLUICE_HTTP_ADDR", "0.0.0.0:8000"),
            ("SLUICE_TRUSTED_PROXIES", "10.1.0.0/16,10.2.0.0/16"),
            ("SLUICE_MAX_BODY_BYTES", "2048"),
            ("SLUICE_CONTROL_TIMEOUT", "250ms"),
        ],
    );
    let Command::Ingress(ingress) = cli.command else {
        panic!("not ingress");
    };
    let config = ingress.to_config(String::new()).unwrap();
    assert_eq!(ingress.http, "0.0.0.0:8000".parse::<SocketAddr>().unwrap());
    assert_eq!(config.trusted_proxies.len(), 2);
    assert_eq!(config.max_body_bytes, 2048);
    assert_eq!(
        config.control_timeout,
        std::time::Duration::from_millis(250)
    );
}

#[test]
fn control_requires_a_signing_secret() {
    let Command::Control(control) =
        parse(&["control", "--database-url", "postgres://db/sluice"]).command
    else {
        panic!("not control");
    };
    let error = control.to_config().unwrap_err().to_string();
    assert_eq!(error, "missing --signing-secret (or SLUICE_SIGNING_SECRET)");
}

#[test]
fn trusted_proxies_reject_garbage() {
    assert_eq!(TrustedProxies::parse(""), Ok(TrustedProxies(vec![])));
    assert!(TrustedProxies::parse("10.0.0.0/8,nope").is_err());
}

#[test]
fn control_refuses_to_start_without_credentials_unless_told_to() {
    let base = ["control", "--database-url", "postgres://db/sluice"];
    let with = |extra: &[&str]| {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let Command::Control(control) = parse(&args).command else {
            panic!("not control");
        };
        control.to_config().map(|config| config.authentication)
    };
    let error = with(&["--signing-secret", "s"]).unwrap_err().to_string();
    assert!(error.starts_with("no credentials configured"), "{error}");
    assert!(matches!(
        with(&["--signing-secret", "s", "--insecure-no-auth"]),
        Ok(sluice_control::Authentication::Disabled)
    ));

    let dir = std::env::temp_dir().join(format!("sluice-tokens-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ingress"), "ingress-token\n").unwrap();
    std::fs::write(dir.join("admin"), "admin-token\n").unwrap();
    let ingress = dir.join("ingress");
    let admin = dir.join("admin");
    let configured = with(&[
        "--signing-secret",
        "s",
        "--ingress-token-file",
        ingress.to_str().unwrap(),
        "--admin-token-file",
        admin.to_str().unwrap(),
    ]);
    let Ok(sluice_control::Authentication::Tokens(credentials)) = configured else {
        panic!("tokens expected");
    };
    let tokens: Vec<_> = credentials
        .iter()
        .map(|c| (c.role, c.token.as_str()))
        .collect();
    assert_eq!(
        tokens,
        [
            (sluice_control::Role::Ingress, "ingress-token"),
            (sluice_control::Role::Admin, "admin-token")
        ]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tls_flags_configure_the_listener_and_must_come_in_pairs() {
    let tls = |extra: &[&str]| {
        let base = ["control", "--database-url", "postgres://db/sluice"];
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let Command::Control(control) = parse(&args).command else {
            panic!("not control");
        };
        control.tls.tls_config().map_err(|error| error.to_string())
    };
    assert_eq!(tls(&[]), Ok(None));
    assert_eq!(
        tls(&[
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
            "--tls-client-ca",
            "ca.pem"
        ]),
        Ok(Some(sluice_control::TlsConfig {
            cert: "c.pem".into(),
            key: "k.pem".into(),
            client_ca: Some("ca.pem".into()),
        }))
    );
    assert_eq!(
        tls(&["--tls-cert", "c.pem"]),
        Err("--tls-cert needs --tls-key".to_owned())
    );
    assert_eq!(
        tls(&["--tls-client-ca", "ca.pem"]),
        Err("--tls-client-ca needs --tls-cert and --tls-key".to_owned())
    );
}

#[test]
fn control_client_tls_flags_are_global() {
    let cli = parse(&[
        "workflow",
        "list",
        "--control-ca",
        "ca.pem",
        "--control-client-cert",
        "client.pem",
        "--control-client-key",
        "client.key",
    ]);
    assert_eq!(
        cli.global.control_tls.control_tls().unwrap(),
        Some(sluice_ingress::ControlTls {
            ca: "ca.pem".into(),
            client_cert: Some("client.pem".into()),
            client_key: Some("client.key".into()),
        })
    );
    let cli = parse(&["--control-client-cert", "client.pem", "ingress"]);
    let error = cli
        .global
        .control_tls
        .control_tls()
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "a client certificate needs --control-ca (or SLUICE_CONTROL_CA)"
    );
}
