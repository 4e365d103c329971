//! A PostgreSQL server left over from an earlier run that was killed. It received
//! SIGINT when that run died and is shutting down; a new server can only start on the
//! cluster once it is gone. A stale `postmaster.pid` naming no live server is left to
//! PostgreSQL, which replaces it itself.

use std::{
    fs,
    path::Path,
    time::{Duration, Instant},
};

use anyhow::bail;
use tracing::{info, warn};

use crate::dev::process::{self, Signal};

/// How long the leftover gets to finish its own shutdown before it is asked again.
const GRACE: Duration = Duration::from_secs(3);
const GIVE_UP: Duration = Duration::from_secs(30);

pub async fn wait_for_exit(cluster_dir: &Path) -> anyhow::Result<()> {
    let Some(pid) = postmaster_pid(cluster_dir) else {
        return Ok(());
    };
    if !serves(pid, cluster_dir) {
        return Ok(());
    }

    info!(
        pid,
        "waiting for the PostgreSQL server of an earlier run to stop"
    );
    let started = Instant::now();
    let mut interrupted = false;
    while serves(pid, cluster_dir) {
        if !interrupted && started.elapsed() > GRACE {
            if let Err(error) = process::send_signal(pid, Signal::Interrupt) {
                warn!(pid, %error, "could not ask the leftover PostgreSQL server to stop");
            }
            interrupted = true;
        }
        if started.elapsed() > GIVE_UP {
            bail!(
                "a PostgreSQL server (pid {pid}) is still running on the cluster in {}; \
                 stop it and try again",
                cluster_dir.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

fn postmaster_pid(cluster_dir: &Path) -> Option<u32> {
    let text = fs::read_to_string(cluster_dir.join("postmaster.pid")).ok()?;
    text.lines().next()?.trim().parse().ok()
}

/// Whether `pid` is a live (not zombie) `postgres` process serving `cluster_dir`. The
/// command line is checked so that a recycled pid is never signalled.
fn serves(pid: u32, cluster_dir: &Path) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state follows the command name, which is in parentheses and may contain any
    // character, so it is found after the last ')'.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    if matches!(state, None | Some("Z" | "X")) {
        return false;
    }
    let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let arguments: Vec<&[u8]> = cmdline.split(|&byte| byte == 0).collect();
    let dir = cluster_dir.as_os_str().as_encoded_bytes();
    arguments
        .first()
        .is_some_and(|program| program.ends_with(b"postgres"))
        && arguments.contains(&dir)
}
