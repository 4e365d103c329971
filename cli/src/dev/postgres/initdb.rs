//! Creating the cluster on first start.

use std::{
    fs::{self, DirBuilder, OpenOptions},
    io::Write,
    os::unix::fs::{DirBuilderExt, OpenOptionsExt},
    path::Path,
    process::Stdio,
};

use anyhow::{Context, bail};
use tokio::process::Command;
use tracing::info;

use super::{USER, account::ServerAccount, binaries::Binaries, run_as};

pub async fn initialize(
    binaries: &Binaries,
    dir: &Path,
    account: Option<ServerAccount>,
    password: &str,
) -> anyhow::Result<()> {
    info!(dir = %dir.display(), "creating a PostgreSQL cluster");

    // The cluster is built beside its final place and moved there once complete, so
    // that an interrupted initdb never leaves something that looks like a cluster.
    let staging = dir.with_extension("init");
    for leftover in [&staging, dir] {
        if leftover.exists() {
            fs::remove_dir_all(leftover).with_context(|| {
                format!("remove the incomplete cluster in {}", leftover.display())
            })?;
        }
    }
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&staging)
        .with_context(|| format!("create {}", staging.display()))?;
    give_to(&staging, account)?;

    // initdb reads the superuser's password from a file, which must be readable by the
    // account it runs as; it exists only while initdb runs.
    let password_file = dir.with_extension("pwfile");
    let _ = fs::remove_file(&password_file);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&password_file)
        .with_context(|| format!("create {}", password_file.display()))?;
    writeln!(file, "{password}").with_context(|| format!("write {}", password_file.display()))?;
    drop(file);
    give_to(&password_file, account)?;

    let mut initdb = Command::new(&binaries.initdb);
    initdb
        .arg("-D")
        .arg(&staging)
        .args(["-U", USER, "--auth=scram-sha-256", "--encoding=UTF8"])
        .args(["--no-locale", "--no-instructions"])
        .arg(format!("--pwfile={}", password_file.display()))
        .current_dir(&staging)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    run_as(&mut initdb, account);
    let output = initdb.output().await;
    let _ = fs::remove_file(&password_file);

    let output = output.with_context(|| format!("run {}", binaries.initdb.display()))?;
    if !output.status.success() {
        bail!(
            "initdb failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    fs::rename(&staging, dir).with_context(|| format!("move the new cluster to {}", dir.display()))
}

/// Hands `path` to the server's account, when there is one.
fn give_to(path: &Path, account: Option<ServerAccount>) -> anyhow::Result<()> {
    if let Some(account) = account {
        std::os::unix::fs::chown(path, Some(account.uid), Some(account.gid))
            .with_context(|| format!("give {} to the postgres user", path.display()))?;
    }
    Ok(())
}
