//! A multi-host PostgreSQL connection pool for diesel-async.
//!
//! One bb8 pool of [`diesel_async::AsyncPgConnection`]s per host, and per host a background
//! checker that reads the host's role (`pg_is_in_recovery()` and `transaction_read_only`)
//! and replay lag every `refresh_delay` under a `refresh_timeout` deadline, on a dedicated
//! connection, and moves the host between three sets: master, replica, down. A replica's
//! lag is measured against the master's WAL position (see `wal.rs`), so a replica that
//! receives nothing at all is behind too.
//!
//! - [`MultiHostPool::acquire`] with `read_only = false` takes a master; with `read_only =
//!   true` a replica (up, not lagging more than `max_replica_lag`), the master too with
//!   probability `master_as_replica_weight`, or the master alone when no replica can serve
//!   and `fallback_master` is set. Among the candidates the **greedy** policy takes the
//!   host with the most free connections, `max_size - in use`, ties broken uniformly at
//!   random.
//!   While more than one host answers as master (a split brain), no write is handed out.
//!   After a failover a replica takes reads only once it has replayed WAL past all it had
//!   received at its first check (WAL positions carry no timeline: see `Slot::follows`);
//!   the master's checker commits an empty transaction meanwhile, so this needs no write.
//! - [`MultiHostPool::record_write`] after a write: reads then see it (a replica that has
//!   not replayed it is waited for briefly, then the master serves the read).
//! - The whole acquire (waiting for a suitable host, then for a connection of its pool)
//!   runs under one deadline, `timeout`; then it fails with [`AcquireError::NoHost`].
//! - A host's pool exists only while the host is up, and is replaced when its role
//!   changes: connections opened while a host was master never serve once it is a
//!   replica (the demoted-primary incident). A statement failing with SQLSTATE 25006
//!   (read-only transaction) or a broken connection makes the host re-checked at once.
//!   A host found down has all its connections closed, checked-out ones included, so a
//!   statement waiting on a frozen server fails instead of waiting forever.
//! - Connections have a maximum lifetime and TCP keepalive + `TCP_USER_TIMEOUT`, so a
//!   silently dead peer cannot hold a pool.
//! - [`MultiHostPool::new`] never waits for a host: hosts that are down are retried every
//!   `refresh_delay`. [`MultiHostPool::close`] stops the checkers and closes connections.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use pg_multihost::{ConnectOptions, HostAddr, MultiHostPool, PoolConfig};
//! let hosts = vec![HostAddr::parse("db1:5432", 5432)?, HostAddr::parse("db2", 5432)?];
//! let pool = MultiHostPool::new(PoolConfig::new(hosts, ConnectOptions::new("app", "appdb")))?;
//! let mut conn = pool.read().await?; // derefs to AsyncPgConnection
//! # drop(conn);
//! pool.close().await;
//! # Ok(()) }
//! ```

mod causes;
mod checker;
mod config;
mod host;
mod pool;
mod wal;

pub use causes::with_causes;
pub use config::{ConnectOptions, HostAddr, PoolConfig};
pub use host::{HostSnapshot, Role};
pub use pool::{AcquireError, AcquireOptions, ConfigError, MultiHostPool, PooledConn};
