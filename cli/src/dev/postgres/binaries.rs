//! Finding the PostgreSQL server programs installed on this machine.

use std::{
    env,
    ffi::OsStr,
    fs,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
};

use anyhow::bail;

/// `initdb` and `postgres`, from one installation.
#[derive(Debug)]
pub struct Binaries {
    pub initdb: PathBuf,
    pub postgres: PathBuf,
}

impl Binaries {
    /// Looks on PATH, then in the newest `/usr/lib/postgresql/<version>/bin` (Debian
    /// and Ubuntu packages), then in `/usr/local/pgsql/bin` (a source build).
    pub fn find() -> anyhow::Result<Self> {
        let on_path = env::var_os("PATH")
            .map(|path| env::split_paths(&path).collect::<Vec<_>>())
            .unwrap_or_default();
        let candidates = on_path
            .into_iter()
            .chain(newest_versioned_dir(Path::new("/usr/lib/postgresql")))
            .chain([PathBuf::from("/usr/local/pgsql/bin")]);
        Self::first_in(candidates)
    }

    fn first_in(dirs: impl IntoIterator<Item = PathBuf>) -> anyhow::Result<Self> {
        if let Some(binaries) = dirs.into_iter().find_map(|dir| Self::in_dir(&dir)) {
            return Ok(binaries);
        }
        bail!(
            "PostgreSQL server binaries not found; install postgresql (e.g. apt-get install \
             postgresql) or pass --database-url"
        )
    }

    fn in_dir(dir: &Path) -> Option<Self> {
        let initdb = dir.join("initdb");
        let postgres = dir.join("postgres");
        (is_executable(&initdb) && is_executable(&postgres)).then_some(Self { initdb, postgres })
    }
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path)
        .map(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// `<root>/<version>/bin` for the highest numeric version under `root`.
fn newest_versioned_dir(root: &Path) -> Option<PathBuf> {
    fs::read_dir(root)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name();
            let version = version_of(&name)?;
            Some((version, entry.path().join("bin")))
        })
        .max_by(|(a, _), (b, _)| a.cmp(b))
        .map(|(_, dir)| dir)
}

/// `15` or `9.6` as comparable numbers; `None` for anything else.
fn version_of(name: &OsStr) -> Option<Vec<u32>> {
    name.to_str()?
        .split('.')
        .map(|part| part.parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_binaries_say_what_to_install() {
        let error = Binaries::first_in([PathBuf::from("/nonexistent/bin")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "PostgreSQL server binaries not found; install postgresql (e.g. apt-get install \
             postgresql) or pass --database-url"
        );
    }

    #[test]
    fn both_programs_must_be_in_one_dir() {
        let dir = std::env::temp_dir().join(format!("sluice-half-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let initdb = dir.join("initdb");
        fs::write(&initdb, "").unwrap();
        fs::set_permissions(&initdb, fs::Permissions::from_mode(0o755)).unwrap();
        assert!(Binaries::in_dir(&dir).is_none());

        let postgres = dir.join("postgres");
        fs::write(&postgres, "").unwrap();
        fs::set_permissions(&postgres, fs::Permissions::from_mode(0o755)).unwrap();
        let found = Binaries::in_dir(&dir).unwrap();
        assert_eq!((found.initdb, found.postgres), (initdb, postgres));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_newest_version_wins_numerically() {
        let root = std::env::temp_dir().join(format!("sluice-binaries-{}", std::process::id()));
        for version in ["9.6", "15", "16", "notes"] {
            fs::create_dir_all(root.join(version).join("bin")).unwrap();
        }
        assert_eq!(
            newest_versioned_dir(&root),
            Some(root.join("16").join("bin"))
        );
        fs::remove_dir_all(&root).unwrap();
    }
}
