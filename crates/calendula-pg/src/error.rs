//! The one error type of the launcher.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while finding, creating, starting or stopping PostgreSQL.
///
/// Every variant's message is meant to be shown to a person as is: it names the
/// instance, the command or the file involved and, for start-up failures, carries the
/// last lines of the server log.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The PostgreSQL server binaries could not be found. The message says what was
    /// searched and what to install or configure.
    #[error("{0}")]
    BinariesNotFound(String),

    /// A file-system or process-spawning operation failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },

    /// A PostgreSQL tool (initdb, pg_basebackup, psql, ...) exited unsuccessfully.
    #[error("{what} failed ({status}): {output}")]
    Command {
        what: String,
        status: String,
        /// Its stderr (and stdout when stderr is empty), trimmed.
        output: String,
    },

    /// A server did not come up (it exited, or did not accept connections in time).
    #[error("PostgreSQL instance `{instance}` did not start: {reason}\n--- last lines of {} ---\n{log_tail}", log.display())]
    Start {
        instance: String,
        reason: String,
        log: PathBuf,
        log_tail: String,
    },

    /// The server could not listen on its port because something else uses it.
    #[error("PostgreSQL instance `{instance}` could not listen on 127.0.0.1:{port}: address already in use")]
    PortInUse { instance: String, port: u16 },

    /// Something did not happen before its deadline.
    #[error("timed out after {secs:.1}s waiting for {what}")]
    Timeout { what: String, secs: f64 },

    /// The `postgres` OS user (we run as root) cannot reach the directory: a parent is not
    /// searchable by other users. The message says what to change.
    #[error("{0}")]
    NotAccessible(String),

    /// Invalid options or an environment this launcher cannot work in. The message says
    /// what to change.
    #[error("{0}")]
    Setup(String),
}

impl LaunchError {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        LaunchError::Io {
            context: context.into(),
            source,
        }
    }
}
