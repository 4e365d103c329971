//! The data directory of `sluice dev`: the PostgreSQL cluster, the secrets it generated
//! once and reuses, the demo workflow's id, and the control plane address that admin
//! commands find there.

use std::{
    fs::{self, File, OpenOptions},
    io::{ErrorKind, Write},
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};

use super::process;

const LOCK: &str = "lock";
const SIGNING_SECRET: &str = "signing-secret";
const DEMO_WORKFLOW: &str = "demo-workflow";
const CONTROL_URL: &str = "control-url";
const INGRESS_TOKEN: &str = "ingress-token";
const WORKER_TOKEN: &str = "worker-token";

/// An open data directory, locked against a second `sluice dev` for as long as it
/// lives: two runs would fight over one PostgreSQL cluster.
pub struct DataDir {
    path: PathBuf,
    /// The path as the operator gave it, for what is shown to them.
    given: PathBuf,
    _lock: File,
}

impl DataDir {
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let given = path;
        fs::create_dir_all(path)
            .with_context(|| format!("create the data dir {}", path.display()))?;
        // Absolute, because PostgreSQL runs in another working directory.
        let path = fs::canonicalize(path)
            .with_context(|| format!("resolve the data dir {}", path.display()))?;

        let lock_path = path.join(LOCK);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("open {}", lock_path.display()))?;
        if !process::try_lock(&lock).with_context(|| format!("lock {}", lock_path.display()))? {
            bail!(
                "another `sluice dev` is already running with the data dir {}",
                path.display()
            );
        }
        Ok(Self {
            path,
            given: given.to_path_buf(),
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn given(&self) -> &Path {
        &self.given
    }

    /// Generated on first start and reused, so that webhook URLs stay valid across
    /// restarts.
    pub fn signing_secret(&self) -> anyhow::Result<String> {
        read_or_create_secret(&self.path.join(SIGNING_SECRET))
    }

    /// The token the in-process ingress presents to the control plane.
    pub fn ingress_token(&self) -> anyhow::Result<String> {
        read_or_create_secret(&self.path.join(INGRESS_TOKEN))
    }

    /// The token local workers present; they read it from this file.
    pub fn worker_token(&self) -> anyhow::Result<String> {
        read_or_create_secret(&self.path.join(WORKER_TOKEN))
    }

    /// The token admin commands present; they read it from this file by themselves.
    pub fn admin_token(&self) -> anyhow::Result<String> {
        read_or_create_secret(&self.path.join(crate::admin::DEV_ADMIN_TOKEN))
    }

    pub fn demo_workflow(&self) -> Option<String> {
        let id = fs::read_to_string(self.path.join(DEMO_WORKFLOW)).ok()?;
        Some(id.trim().to_owned()).filter(|id| !id.is_empty())
    }

    pub fn remember_demo_workflow(&self, id: &str) -> anyhow::Result<()> {
        let path = self.path.join(DEMO_WORKFLOW);
        fs::write(&path, format!("{id}\n")).with_context(|| format!("write {}", path.display()))
    }

    /// Leaves the control plane's URL where admin commands run with the same data dir
    /// look for it, so they need no `--control` flag.
    pub fn advertise_control_url(&self, url: &str) -> anyhow::Result<()> {
        let path = self.path.join(CONTROL_URL);
        fs::write(&path, format!("{url}\n")).with_context(|| format!("write {}", path.display()))
    }

    pub fn withdraw_control_url(&self) {
        // Nothing to do if it is already gone; a stale file only costs a failed connect.
        let _ = fs::remove_file(self.path.join(CONTROL_URL));
    }
}

/// The control plane URL a `sluice dev` running with `data_dir` advertised, if any.
pub fn advertised_control_url(data_dir: &Path) -> Option<String> {
    let url = fs::read_to_string(data_dir.join(CONTROL_URL)).ok()?;
    Some(url.trim().to_owned()).filter(|url| !url.is_empty())
}

/// The secret kept in `path`, or a new one (32 random bytes as hex) written there
/// readable by the owner only.
pub fn read_or_create_secret(path: &Path) -> anyhow::Result<String> {
    match fs::read_to_string(path) {
        Ok(secret) if !secret.trim().is_empty() => return Ok(secret.trim().to_owned()),
        Ok(_) => {}
        Err(error) if error.kind() == ErrorKind::NotFound => {}
        Err(error) => return Err(error).with_context(|| format!("read {}", path.display())),
    }

    let secret = hex::encode(rand::random::<[u8; 32]>());
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("create {}", path.display()))?;
    writeln!(file, "{secret}").with_context(|| format!("write {}", path.display()))?;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_secret_is_generated_once_readable_by_its_owner_only() {
        let dir = std::env::temp_dir().join(format!("sluice-secret-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("signing-secret");

        let first = read_or_create_secret(&path).unwrap();
        assert_eq!(first.len(), 64);
        assert!(first.bytes().all(|byte| byte.is_ascii_hexdigit()));
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(read_or_create_secret(&path).unwrap(), first);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_second_open_of_one_data_dir_is_refused() {
        let dir = std::env::temp_dir().join(format!("sluice-lock-{}", std::process::id()));
        let first = DataDir::open(&dir).unwrap();
        let error = DataDir::open(&dir).err().unwrap().to_string();
        assert!(
            error.starts_with("another `sluice dev` is already running"),
            "{error}"
        );
        drop(first);
        assert!(DataDir::open(&dir).is_ok());
        fs::remove_dir_all(&dir).unwrap();
    }
}
