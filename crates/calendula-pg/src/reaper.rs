//! Cleanup for clusters that outlive their owner's destructors: a cluster kept in a
//! `static` (one per test binary) is never dropped, so a small detached watcher stops its
//! servers and removes its directory once the owning process has exited.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use crate::cluster::Cluster;
use crate::error::LaunchError;

/// Seconds between two looks at the owning process.
const POLL_SECS: u32 = 1;

impl Cluster {
    /// Arranges for this cluster's servers to be stopped (immediate shutdown) and its
    /// directory removed after the current process exits, however it exits. For clusters
    /// that are never dropped; a dropped cluster cleans up by itself.
    pub fn reap_when_process_exits(&self) -> Result<(), LaunchError> {
        let pid_files: Vec<String> = self
            .instances()
            .iter()
            .map(|i| shell_quote(&i.data_dir().join("postmaster.pid").to_string_lossy()))
            .collect();
        let dirs: Vec<String> = self
            .instances()
            .iter()
            .map(|i| shell_quote(&i.dir().to_string_lossy()))
            .collect();
        let script = format!(
            "while kill -0 {owner} 2>/dev/null; do sleep {POLL_SECS}; done; \
             for f in {pid_files}; do [ -f \"$f\" ] && kill -QUIT \"$(head -n 1 \"$f\")\" 2>/dev/null; done; \
             sleep 2; rm -rf {dirs}; rmdir {root} 2>/dev/null; exit 0",
            owner = std::process::id(),
            pid_files = pid_files.join(" "),
            dirs = dirs.join(" "),
            root = shell_quote(&self.dir().to_string_lossy()),
        );
        Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so that a Ctrl-C aimed at the tests does not end it first.
            .process_group(0)
            .spawn()
            .map(drop)
            .map_err(|e| LaunchError::io("spawning the cluster reaper", e))
    }
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}
