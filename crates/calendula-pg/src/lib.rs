//! Private PostgreSQL servers for Calendula: the embedded database of the server (when
//! `database.hosts` is empty) and the throw-away clusters of the test suite.
//!
//! A [`Cluster`] is a primary plus N streaming replicas (`pg_basebackup`), each an
//! [`Instance`]: its own directory, port on 127.0.0.1 and unix socket directory. It uses
//! the machine's installed PostgreSQL binaries ([`PgBinaries::locate`]: `$PG_BINDIR`,
//! else `pg_config --bindir`, else the newest `/usr/lib/postgresql/*/bin`).
//!
//! * **Layout**: `dir/primary`, `dir/replica-N`, each holding `data/` (the data
//!   directory), `run/` (the 0700 unix socket directory) and `postgres.log`. The managed
//!   settings live in `data/calendula.conf` (included from postgresql.conf) and
//!   `data/pg_hba.conf`, both rewritten on every start.
//! * **Root**: PostgreSQL refuses to run as root, so when this process runs as root every
//!   PostgreSQL program is spawned as the `postgres` OS user (std's `Command::uid/gid`,
//!   which also drops root's supplementary groups; clean environment; working directory
//!   inside the instance directory), and the directories are chowned to it. The
//!   cluster directory's parents must be searchable by that user (a clear error says so).
//! * **Processes**: each postmaster is a child of this process, in its own process group
//!   (a terminal Ctrl-C does not reach it), stopped with signals (SIGINT = fast,
//!   SIGQUIT = immediate, SIGKILL = crash) and reaped by us, so postmasters do not linger
//!   as zombies where PID 1 does not reap (after a SIGKILL the orphaned backends exit on
//!   their own; in such containers they do remain as harmless zombies).
//! * **Reuse**: an existing `dir/primary/data` is reused (restart keeps data); a
//!   postmaster of an earlier run still running on it is stopped first (fast), stale lock
//!   files of dead ones are removed.
//! * **Cleanup**: dropping a `keep_on_drop` cluster stops it cleanly; dropping a
//!   temporary one stops it immediately and deletes its directories.
//!   [`Cluster::reap_when_process_exits`] covers clusters kept in a `static`, and
//!   [`Cluster::temporary`] removes leftovers of dead test processes.
//!
//! Everything is synchronous (std processes and threads); call it from
//! `spawn_blocking` in async code.
//!
//! ```no_run
//! let cluster = calendula_pg::Cluster::temporary(1)?;
//! cluster.primary().psql("calendula", "CREATE TABLE t (x int)")?;
//! let url = cluster.url(0); // postgres://calendula@127.0.0.1:PORT/calendula
//! # Ok::<(), calendula_pg::LaunchError>(())
//! ```

mod bins;
mod cluster;
mod conf;
mod error;
mod instance;
mod os;
mod reaper;

pub use bins::{PgBinaries, PG_BINDIR_ENV, REQUIRED_PROGRAMS};
pub use cluster::{free_port, Cluster, ClusterOptions, KEEP_TEMP_ENV};
pub use error::LaunchError;
pub use instance::{Instance, PROMOTE_TIMEOUT, START_TIMEOUT, STOP_TIMEOUT};

/// Whether a process with this pid exists and has not exited (zombies count as gone).
/// Useful for checking that a stopped or dropped cluster left no server behind.
pub fn process_alive(pid: u32) -> bool {
    os::process_alive(pid)
}

#[cfg(test)]
mod tests {
    #[test]
    fn public_types_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<super::Cluster>();
        check::<super::Instance>();
        check::<super::LaunchError>();
    }
}
