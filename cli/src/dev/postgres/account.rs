//! The system account PostgreSQL runs as when `sluice dev` is started by root:
//! PostgreSQL refuses to run as root, so the cluster belongs to the `postgres` user.

use std::{fs, os::unix::fs::MetadataExt, path::Path};

use anyhow::Context;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerAccount {
    pub uid: u32,
    pub gid: u32,
}

impl ServerAccount {
    pub const NAME: &str = "postgres";

    /// The account's uid and primary gid from /etc/passwd.
    pub fn lookup() -> anyhow::Result<Self> {
        let passwd = fs::read_to_string("/etc/passwd").context("read /etc/passwd")?;
        Self::from_passwd(&passwd, Self::NAME).with_context(|| {
            format!(
                "running as root, PostgreSQL needs the system user {:?}, which does not \
                 exist; install postgresql or pass --database-url",
                Self::NAME
            )
        })
    }

    fn from_passwd(passwd: &str, name: &str) -> Option<Self> {
        passwd.lines().find_map(|line| {
            let mut fields = line.split(':');
            if fields.next()? != name {
                return None;
            }
            let _password = fields.next()?;
            Some(Self {
                uid: fields.next()?.parse().ok()?,
                gid: fields.next()?.parse().ok()?,
            })
        })
    }

    /// Whether the account can walk down to `dir`: every directory on the way must be
    /// searchable by it. Only the primary group counts, since the server is started
    /// without supplementary groups.
    pub fn can_reach(&self, dir: &Path) -> bool {
        dir.ancestors().all(|ancestor| {
            fs::metadata(ancestor)
                .map(|metadata| self.can_search(&metadata))
                .unwrap_or(false)
        })
    }

    fn can_search(&self, metadata: &fs::Metadata) -> bool {
        let mode = metadata.mode();
        if metadata.uid() == self.uid {
            mode & 0o100 != 0
        } else if metadata.gid() == self.gid {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_is_read_from_passwd_lines() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n\
                      postgres:x:101:104:PostgreSQL administrator:/var/lib/postgresql:/bin/bash\n";
        assert_eq!(
            ServerAccount::from_passwd(passwd, "postgres"),
            Some(ServerAccount { uid: 101, gid: 104 })
        );
        assert_eq!(ServerAccount::from_passwd(passwd, "postgre"), None);
    }
}
