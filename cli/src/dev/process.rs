//! The few operating system calls `sluice dev` needs that the standard library lacks.
//! Each is a thin wrapper around one libc call, so that `unsafe` stays in this file.

use std::{fs::File, io, os::fd::AsRawFd};

/// The signals sent to PostgreSQL: SIGINT asks for a fast shutdown (active sessions are
/// ended, the data is flushed), SIGQUIT for an immediate one (recovery on next start).
#[derive(Clone, Copy, Debug)]
pub enum Signal {
    Interrupt,
    Quit,
}

impl Signal {
    fn number(self) -> libc::c_int {
        match self {
            Self::Interrupt => libc::SIGINT,
            Self::Quit => libc::SIGQUIT,
        }
    }
}

pub fn send_signal(pid: u32, signal: Signal) -> io::Result<()> {
    let pid =
        libc::pid_t::try_from(pid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: kill(2) takes plain integers and touches no memory of this process.
    #[allow(unsafe_code)]
    let result = unsafe { libc::kill(pid, signal.number()) };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Whether this process runs as root, where PostgreSQL refuses to run.
pub fn is_root() -> bool {
    // SAFETY: geteuid(2) has no preconditions and cannot fail.
    #[allow(unsafe_code)]
    let uid = unsafe { libc::geteuid() };
    uid == 0
}

/// Takes an exclusive advisory lock on `file` without waiting; `false` if another
/// process holds it. The lock lasts as long as the file stays open.
pub fn try_lock(file: &File) -> io::Result<bool> {
    // SAFETY: flock(2) on a descriptor that `file` keeps open for the whole call.
    #[allow(unsafe_code)]
    let result = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if result == 0 {
        return Ok(true);
    }
    let error = io::Error::last_os_error();
    if error.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(error)
    }
}

/// Makes the child receive SIGINT when this process dies, however it dies (`kill -9`
/// included), so that a PostgreSQL server never outlives `sluice dev`.
///
/// The kernel sends the signal when the *thread* that forked the child exits, so the
/// child must be spawned from a thread that lives as long as the process (the main
/// thread). The setting is also cleared by any change of credentials; the standard
/// library switches uid and gid before it runs `pre_exec` hooks, so setting it here, as
/// the last step before exec, keeps it.
pub fn die_with_parent(command: &mut tokio::process::Command) {
    let parent = std::process::id();
    // SAFETY: the hook runs in the forked child before exec, where only
    // async-signal-safe calls are allowed: prctl(2) and getppid(2) are, and building
    // an `io::Error` from an errno value does not allocate.
    #[allow(unsafe_code)]
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl, in which case no signal
            // will ever come: refuse to start an orphan.
            if u32::try_from(libc::getppid()).ok() != Some(parent) {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}
