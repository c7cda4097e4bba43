//! Operating-system helpers: which OS user runs PostgreSQL, signals, ownership, commands.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::error::LaunchError;

/// The OS user PostgreSQL processes run as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RunAs {
    /// We are not root: run everything as ourselves.
    Current,
    /// We are root: PostgreSQL refuses to run as root, so every PostgreSQL program is
    /// spawned with this uid/gid (std drops root's supplementary groups when it switches).
    User { uid: u32, gid: u32 },
}

/// The OS account used when running as root.
pub(crate) const POSTGRES_OS_USER: &str = "postgres";

#[allow(unsafe_code)]
pub(crate) fn effective_uid() -> u32 {
    // SAFETY: geteuid() has no preconditions, cannot fail and touches no memory.
    unsafe { libc::geteuid() }
}

/// Sends `sig` to exactly one process (`pid` must be > 0; 0 and negative values, which
/// address process groups, are refused). `sig == 0` only checks existence.
#[allow(unsafe_code)]
pub(crate) fn send_signal(pid: u32, sig: i32) -> io::Result<()> {
    let pid = libc::pid_t::try_from(pid)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "invalid pid"))?;
    // SAFETY: kill() takes two integers and touches no memory; pid > 0 targets one process.
    let rc = unsafe { libc::kill(pid, sig) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// True when `pid` names a live process. Zombies (exited but not reaped — which happens to
/// orphaned daemons when PID 1 does not reap, as in some containers) count as dead.
pub(crate) fn process_alive(pid: u32) -> bool {
    process_exists(pid) && !is_zombie(pid)
}

/// True when some process (possibly a zombie) has this pid.
pub(crate) fn process_exists(pid: u32) -> bool {
    match send_signal(pid, 0) {
        Ok(()) => true,
        Err(e) => e.raw_os_error() == Some(libc::EPERM),
    }
}

fn is_zombie(pid: u32) -> bool {
    // /proc/<pid>/stat: "pid (comm) S ..."; comm may contain ')' so take the last one.
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            .is_some_and(|state| state == "Z" || state == "X"),
        Err(_) => false,
    }
}

/// The command line of a process, when the platform exposes it (Linux `/proc`).
pub(crate) fn process_cmdline(pid: u32) -> Option<String> {
    fs::read(format!("/proc/{pid}/cmdline"))
        .ok()
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
}

/// Decides who runs PostgreSQL: ourselves, or the `postgres` OS user when we are root.
pub(crate) fn detect_run_as() -> Result<RunAs, LaunchError> {
    if effective_uid() != 0 {
        return Ok(RunAs::Current);
    }
    let lookup = |flag: &str| -> Result<u32, LaunchError> {
        let out = Command::new("id")
            .arg(flag)
            .arg(POSTGRES_OS_USER)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| LaunchError::io("running `id` to find the postgres OS user", e))?;
        let text = String::from_utf8_lossy(&out.stdout);
        match (out.status.success(), text.trim().parse::<u32>()) {
            (true, Ok(id)) => Ok(id),
            _ => Err(LaunchError::Setup(format!(
                "running as root, and PostgreSQL refuses to run as root, but there is no `{POSTGRES_OS_USER}` \
                 OS user to run it as: install the PostgreSQL server package (Debian/Ubuntu: \
                 `apt-get install postgresql`, which creates the user), create the user \
                 (`useradd --system {POSTGRES_OS_USER}`), or run as a non-root user"
            ))),
        }
    };
    let uid = lookup("-u")?;
    let gid = lookup("-g")?;
    if uid == 0 {
        return Err(LaunchError::Setup(format!(
            "the `{POSTGRES_OS_USER}` OS user has uid 0; PostgreSQL cannot run as root"
        )));
    }
    Ok(RunAs::User { uid, gid })
}

impl RunAs {
    /// Gives `path` to the PostgreSQL OS user (no-op when not root). Not recursive.
    pub(crate) fn chown(&self, path: &Path) -> Result<(), LaunchError> {
        if let RunAs::User { uid, gid } = *self {
            std::os::unix::fs::chown(path, Some(uid), Some(gid))
                .map_err(|e| LaunchError::io(format!("chown {}", path.display()), e))?;
        }
        Ok(())
    }

    /// A `Command` for a PostgreSQL program: clean environment (only PATH, locale, and a
    /// few pass-through variables — no PGDATA/PGHOST/PGPORT leaking from the caller),
    /// stdin from /dev/null, the given working directory (which the PostgreSQL user can
    /// read), and the PostgreSQL uid/gid when we are root.
    pub(crate) fn command(&self, program: &Path, cwd: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear();
        let mut path = OsString::new();
        if let Some(dir) = program.parent().filter(|d| !d.as_os_str().is_empty()) {
            path.push(dir.as_os_str());
            path.push(":");
        }
        path.push("/usr/local/bin:/usr/bin:/bin");
        cmd.env("PATH", path);
        cmd.env("LC_ALL", "C");
        for var in ["LD_LIBRARY_PATH", "TZ", "TMPDIR"] {
            if let Some(v) = std::env::var_os(var) {
                cmd.env(var, v);
            }
        }
        cmd.current_dir(cwd);
        cmd.env("HOME", cwd);
        cmd.stdin(Stdio::null());
        if let RunAs::User { uid, gid } = *self {
            cmd.uid(uid).gid(gid);
            cmd.env("USER", POSTGRES_OS_USER);
            cmd.env("LOGNAME", POSTGRES_OS_USER);
        }
        cmd
    }

    /// Checks that the PostgreSQL OS user can enter and write `dir` (every parent must be
    /// searchable by it). Only meaningful when we are root.
    pub(crate) fn check_access(&self, dir: &Path) -> Result<(), LaunchError> {
        if *self == RunAs::Current {
            return Ok(());
        }
        let mut cmd = self.command(Path::new("test"), Path::new("/"));
        cmd.arg("-d").arg(dir).arg("-a").arg("-x").arg(dir);
        cmd.arg("-a").arg("-w").arg(dir);
        let ok = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| LaunchError::io("running `test` as the postgres OS user", e))?
            .success();
        if ok {
            Ok(())
        } else {
            Err(LaunchError::NotAccessible(format!(
                "the `{POSTGRES_OS_USER}` OS user (which runs PostgreSQL because we run as root) cannot \
                 enter or write {}: a parent directory is probably not searchable by other users \
                 (for example a root-owned 0700 temporary directory). Use a directory below a \
                 world-searchable path, or `chmod o+x` its parents",
                dir.display()
            )))
        }
    }
}

/// Creates `dir` (and parents) if needed and sets its mode; returns whether it was created.
pub(crate) fn create_private_dir(dir: &Path) -> Result<bool, LaunchError> {
    let existed = dir.is_dir();
    if !existed {
        fs::create_dir_all(dir)
            .map_err(|e| LaunchError::io(format!("creating {}", dir.display()), e))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| LaunchError::io(format!("chmod 0700 {}", dir.display()), e))?;
    }
    Ok(!existed)
}

/// Runs a prepared command to completion and turns a failure into `LaunchError::Command`.
pub(crate) fn run(mut cmd: Command, what: &str) -> Result<Output, LaunchError> {
    let out = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| LaunchError::io(format!("running {what}"), e))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(command_error(what, &out))
    }
}

pub(crate) fn command_error(what: &str, out: &Output) -> LaunchError {
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    let output = if stderr.is_empty() {
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    } else {
        stderr
    };
    LaunchError::Command {
        what: what.to_string(),
        status: out.status.to_string(),
        output,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_alive_and_bogus_pid_is_not() {
        assert!(process_alive(std::process::id()));
        assert!(!process_alive(u32::MAX));
        assert!(
            send_signal(0, 0).is_err(),
            "pid 0 (a process group) must be refused"
        );
    }

    #[test]
    fn reaped_child_is_dead() {
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!process_alive(pid));
    }

    #[test]
    fn root_commands_drop_privileges_and_groups() {
        let Ok(RunAs::User { uid, gid }) = detect_run_as() else {
            return; // not root: nothing to check
        };
        let out = run(
            RunAs::User { uid, gid }.command(Path::new("id"), Path::new("/")),
            "id",
        )
        .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(text.starts_with(&format!("uid={uid}(")), "{text}");
        assert!(!text.contains("(root)"), "root group leaked: {text}");
    }
}
