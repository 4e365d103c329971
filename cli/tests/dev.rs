//! `sluice dev` as a user runs it: the real binary, its own PostgreSQL cluster, a webhook
//! request over a real socket, then a `kill -9` and a restart.

#![allow(clippy::unwrap_used, reason = "test code outside #[test] functions")]

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    thread,
    time::Duration,
};

use serde_json::Value;

const SLUICE: &str = env!("CARGO_BIN_EXE_sluice");

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("pick a free loopback port")
}

/// A scratch directory the `postgres` user can enter (when the test runs as root, the
/// cluster is run as that user).
fn scratch_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sluice-dev-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    let mut permissions = std::fs::metadata(&dir).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&dir, permissions).unwrap();
    dir
}

struct Dev {
    child: Child,
    url: String,
    workflow: String,
    control: String,
}

/// Starts `sluice dev` and waits for its banner.
fn start(dir: &Path, http: u16, grpc: u16) -> Dev {
    let mut child = Command::new(SLUICE)
        .args(["dev", "--http", &format!("127.0.0.1:{http}")])
        .args(["--grpc", &format!("127.0.0.1:{grpc}")])
        .arg("--data-dir")
        .arg(dir.join(".sluice"))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start sluice dev");

    // The banner is read on a thread so that a hung start fails the test instead of
    // hanging it.
    let stdout = child.stdout.take().expect("piped stdout");
    let (lines, banner) = mpsc::channel();
    thread::spawn(move || {
        // Reading goes on to the end, so that the pipe stays open while the process
        // lives and the test's kill -9 is what stops it.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let mut url = None;
    while url.is_none() {
        let line = banner
            .recv_timeout(Duration::from_secs(120))
            .expect("sluice dev prints its banner within 120 s");
        if let Some(rest) = line.trim().strip_prefix("webhook URL:") {
            url = Some(rest.trim().to_owned());
        }
    }
    let url = url.unwrap_or_default();
    let workflow = url
        .split('/')
        .skip_while(|part| *part != "webhooks")
        .nth(1)
        .expect("the URL names the workflow")
        .to_owned();
    Dev {
        child,
        url,
        workflow,
        control: format!("http://127.0.0.1:{grpc}"),
    }
}

/// POSTs a JSON body to a URL on loopback and returns the status and the body.
fn post(url: &str, body: &str) -> (u16, Value) {
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (authority, path) = rest.split_once('/').expect("the URL has a path");
    let mut stream = TcpStream::connect(authority).expect("connect to the ingress");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "POST /{path} HTTP/1.1\r\nhost: {authority}\r\nconnection: close\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").expect("a complete answer");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// Runs an admin command against the `sluice dev` of `dir`, whose admin token the
/// command finds in the data dir.
fn admin(dir: &Path, control: &str, args: &[&str]) -> Value {
    let output = Command::new(SLUICE)
        .args(["--control", control])
        .arg("--data-dir")
        .arg(dir.join(".sluice"))
        .args(args)
        .arg("--json")
        .output()
        .expect("run an admin command");
    assert!(
        output.status.success(),
        "sluice {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("--json prints one JSON value")
}

fn interrupt(child: &mut Child) -> std::process::ExitStatus {
    signal(child, libc::SIGINT);
    child.wait().expect("wait for sluice dev")
}

fn signal(child: &Child, signal: libc::c_int) {
    let pid = i32::try_from(child.id()).expect("a pid fits in i32");
    // SAFETY: sending a signal to a child this test started has no memory effects.
    #[allow(unsafe_code)]
    let sent = unsafe { libc::kill(pid, signal) };
    assert_eq!(sent, 0, "send signal {signal} to sluice dev");
}

#[test]
fn acknowledged_execution_survives_kill_9_and_restart() {
    let dir = scratch_dir("kill");
    let (http, grpc) = (free_port(), free_port());

    let mut dev = start(&dir, http, grpc);
    let (status, answer) = post(&dev.url, r#"{"alert_id":"A-1"}"#);
    assert_eq!(status, 200, "{answer}");
    let exec_id = answer["wf_exec_id"]
        .as_str()
        .expect("wf_exec_id")
        .to_owned();

    // The hardest stop there is, right after the 200.
    dev.child.kill().expect("kill -9 sluice dev");
    dev.child.wait().unwrap();

    let mut again = start(&dir, http, grpc);
    assert_eq!(again.workflow, dev.workflow, "the demo workflow is reused");
    let executions = admin(
        &dir,
        &again.control,
        &["executions", "list", &again.workflow],
    );
    let stored = executions
        .as_array()
        .expect("a list")
        .iter()
        .find(|execution| execution["wf_exec_id"] == exec_id.as_str())
        .unwrap_or_else(|| panic!("{exec_id} is missing after the restart: {executions}"));
    assert_eq!(stored["trigger"], serde_json::json!({"alert_id": "A-1"}));

    // Ctrl-C stops everything, PostgreSQL included, and exits 0.
    let exit = interrupt(&mut again.child);
    assert!(exit.success(), "sluice dev exited with {exit}");
    let leftover: Vec<_> = walk_pid_files(&dir);
    assert!(
        leftover.is_empty(),
        "PostgreSQL is still running: {leftover:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `postmaster.pid` files under `dir`: PostgreSQL removes its own on a clean stop.
fn walk_pid_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&next) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path
                .file_name()
                .is_some_and(|name| name == "postmaster.pid")
            {
                found.push(path);
            }
        }
    }
    found
}

/// Sends the head and the first half of a JSON POST, leaving the request in flight.
fn half_sent(url: &str, body: &str) -> (TcpStream, String) {
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (authority, path) = rest.split_once('/').expect("the URL has a path");
    let mut stream = TcpStream::connect(authority).expect("connect to the ingress");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let (first, second) = body.split_at(body.len() / 2);
    write!(
        stream,
        "POST /{path} HTTP/1.1\r\nhost: {authority}\r\nconnection: close\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{first}",
        body.len()
    )
    .unwrap();
    (stream, second.to_owned())
}

#[test]
fn sigterm_lets_requests_in_flight_finish_and_every_200_is_stored() {
    let dir = scratch_dir("sigterm");
    let (http, grpc) = (free_port(), free_port());
    let mut dev = start(&dir, http, grpc);

    let in_flight: Vec<_> = (0..16)
        .map(|n| {
            half_sent(
                &dev.url,
                &format!(r#"{{"request":{n},"padding":"{}"}}"#, "x".repeat(64)),
            )
        })
        .collect();
    thread::sleep(Duration::from_millis(300));
    signal(&dev.child, libc::SIGTERM);
    thread::sleep(Duration::from_millis(300));

    // Every request that had started gets a complete answer: 200, or 503 at worst.
    let in_flight: Vec<TcpStream> = in_flight
        .into_iter()
        .map(|(mut stream, rest)| {
            stream.write_all(rest.as_bytes()).unwrap();
            stream
        })
        .collect();
    let mut acknowledged = Vec::new();
    for mut stream in in_flight {
        let mut answer = String::new();
        stream
            .read_to_string(&mut answer)
            .expect("a complete answer");
        let (head, body) = answer.split_once("\r\n\r\n").expect("a complete answer");
        let status: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .expect("a status line");
        match status {
            200 => {
                let body: Value = serde_json::from_str(body).expect("a JSON answer");
                acknowledged.push(body["wf_exec_id"].as_str().unwrap().to_owned());
            }
            503 => {}
            other => panic!("a request in flight got {other}: {answer}"),
        }
    }
    let exit = dev.child.wait().unwrap();
    assert!(
        exit.success(),
        "sluice dev exited with {exit} after SIGTERM"
    );
    assert!(
        !acknowledged.is_empty(),
        "no request in flight was answered 200"
    );

    let mut again = start(&dir, http, grpc);
    let executions = admin(
        &dir,
        &again.control,
        &["executions", "list", &again.workflow],
    );
    let stored: Vec<&str> = executions
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|execution| execution["wf_exec_id"].as_str())
        .collect();
    for id in &acknowledged {
        assert!(
            stored.contains(&id.as_str()),
            "{id} was answered 200 but is not stored"
        );
    }
    assert!(interrupt(&mut again.child).success());
    let _ = std::fs::remove_dir_all(&dir);
}
