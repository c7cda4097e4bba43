//! Private PostgreSQL servers for Calendula: the embedded database of the server (when
//! `database.hosts` is empty) and the throw-away clusters of the test suite.
//!
//! A [`Cluster`] is a primary plus N streaming replicas (`pg_basebackup`), each an
//! [`Instance`]: its own directory, port on 127.0.0.1 and unix socket directory. It uses
//! the machine's installed PostgreSQL binaries ([`PgBinaries::locate`]). When this
//! process runs as root, every PostgreSQL program runs as the `postgres` OS user
//! (PostgreSQL refuses to run as root) and the cluster's directories are given to it.
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
