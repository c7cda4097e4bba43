//! The connection pool handlers draw from: the multi-host pool of `pg-multihost` (reads on
//! replicas, writes on the master, failover followed without a restart), with Calendula's
//! side of it: the `database` config mapped onto it, its failures as 503 + `Retry-After`,
//! readiness (a master known and the migrations applied) and the `/metrics` text.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use calendula_core::error::RecheckDatabaseHosts;
use calendula_core::{ApiError, ApiResult};
use pg_multihost::{AcquireError, MultiHostPool, PoolConfig, Role};

pub use pg_multihost::{ConnectOptions, HostAddr, HostSnapshot, PooledConn};

use crate::config::DatabaseConfig;

/// A pooled connection, returned to its host's pool on drop; derefs to `AsyncPgConnection`.
pub type Conn = PooledConn;

/// Connections are replaced after this long, so that a host's new role or a silently dead
/// peer cannot linger in the pool forever.
const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// The application's database handle, kept in Rocket's managed state. Clones share the pool.
#[derive(Clone)]
pub struct Db {
    pool: MultiHostPool,
    connect: ConnectOptions,
    migrated: Arc<AtomicBool>,
}

/// How Calendula connects: the `database` section's credentials, named `calendula` in
/// `pg_stat_activity`.
pub fn connect_options(config: &DatabaseConfig) -> ConnectOptions {
    let mut options = ConnectOptions::new(&config.user, &config.dbname);
    options.password = config.password.as_ref().map(|p| p.expose().to_owned());
    options.application_name = "calendula".into();
    options.connect_timeout = config.timeout.get();
    options
}

/// The pool settings of the `database` section over `hosts`.
pub fn pool_config(config: &DatabaseConfig, hosts: Vec<HostAddr>) -> PoolConfig {
    let mut pool = PoolConfig::new(hosts, connect_options(config));
    pool.min_size = config.min_size;
    pool.max_size = config.max_size;
    pool.timeout = config.timeout.get();
    pool.refresh_delay = config.refresh_delay.get();
    pool.refresh_timeout = config.refresh_timeout.get();
    pool.max_replica_lag = config.max_replica_lag.map(|d| d.get());
    pool.fallback_master = config.fallback_master;
    pool.master_as_replica_weight = config.master_as_replica_weight;
    pool.max_lifetime = MAX_LIFETIME;
    pool
}

impl Db {
    /// Builds the pool over `hosts` and starts its health checkers, without waiting for
    /// any host: the server starts even when the database is down, and answers 503 until
    /// a master is known and [`Db::mark_migrated`] was called. Needs a Tokio runtime.
    pub fn new(config: &DatabaseConfig, hosts: Vec<HostAddr>) -> Result<Self, String> {
        let pool_config = pool_config(config, hosts);
        let connect = pool_config.connect.clone();
        let pool = MultiHostPool::new(pool_config).map_err(|e| e.to_string())?;
        Ok(Self {
            pool,
            connect,
            migrated: Arc::new(AtomicBool::new(false)),
        })
    }

    pub fn pool(&self) -> &MultiHostPool {
        &self.pool
    }

    /// How to open a connection outside the pool (migrations).
    pub fn connect_options(&self) -> &ConnectOptions {
        &self.connect
    }

    /// A connection for queries that only read: a replica (or the master, as configured).
    pub async fn read(&self) -> ApiResult<Conn> {
        self.ensure_migrated()?;
        self.pool.read().await.map_err(unavailable)
    }

    /// A connection on the master, for writes.
    pub async fn write(&self) -> ApiResult<Conn> {
        self.ensure_migrated()?;
        self.pool.write().await.map_err(unavailable)
    }

    fn ensure_migrated(&self) -> ApiResult<()> {
        if self.is_migrated() {
            Ok(())
        } else {
            Err(ApiError::unavailable(
                "the database schema is not ready yet (waiting for a master to migrate)",
            ))
        }
    }

    /// Called once the migrations are applied: requests are served from then on.
    pub fn mark_migrated(&self) {
        self.migrated.store(true, Ordering::Release);
    }

    pub fn is_migrated(&self) -> bool {
        self.migrated.load(Ordering::Acquire)
    }

    /// `/ready`: `Ok` when a master is known and the migrations have run, otherwise why not.
    pub fn readiness(&self) -> Result<(), &'static str> {
        if self.pool.master().is_none() {
            Err("no database master is known")
        } else if !self.is_migrated() {
            Err("the database migrations have not run yet")
        } else {
            Ok(())
        }
    }

    /// Stops the health checkers and closes every pooled connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Wakes every host's checker: managed for the 503s of statements that found their
    /// host read-only or gone (see [`RecheckDatabaseHosts`]).
    pub fn recheck_hosts(&self) -> RecheckDatabaseHosts {
        let pool = self.pool.clone();
        RecheckDatabaseHosts(Box::new(move || pool.recheck_all()))
    }

    /// Pool state per host in Prometheus text format.
    pub fn metrics(&self) -> String {
        render_metrics(
            &self.pool.hosts(),
            self.pool.failed_acquires(),
            self.readiness().is_ok(),
        )
    }
}

/// An acquire failure as the HTTP answer: no host is a 503 (with `Retry-After`).
fn unavailable(error: AcquireError) -> ApiError {
    match error {
        AcquireError::InvalidOptions(message) => ApiError::internal(message),
        error => {
            log::warn!(target: "calendula::db", "{error}");
            ApiError::unavailable(format!("no database host available: {error}"))
        }
    }
}

/// One metric family: `# HELP`, `# TYPE`, then its samples (labels, value).
fn family(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(String, String)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in samples {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {value}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    }
}

fn label(value: &str) -> String {
    value
        .replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

fn render_metrics(hosts: &[HostSnapshot], failed: (u64, u64), ready: bool) -> String {
    let mut out = String::new();
    let per_host = |f: &dyn Fn(&HostSnapshot) -> Option<String>| -> Vec<(String, String)> {
        hosts
            .iter()
            .filter_map(|h| f(h).map(|v| (format!("host=\"{}\"", label(&h.addr.to_string())), v)))
            .collect()
    };
    let secs = |d: Duration| format!("{}", d.as_secs_f64());
    family(
        &mut out,
        "calendula_db_ready",
        "gauge",
        "1 when a master is known and the migrations have run.",
        &[(String::new(), u8::from(ready).to_string())],
    );
    family(
        &mut out,
        "calendula_db_host_up",
        "gauge",
        "1 when the host answered its last health check.",
        &per_host(&|h| Some(u8::from(h.role != Role::Down).to_string())),
    );
    let roles: Vec<(String, String)> = hosts
        .iter()
        .flat_map(|h| {
            [Role::Master, Role::Replica, Role::Down].map(|role| {
                (
                    format!("host=\"{}\",role=\"{role}\"", label(&h.addr.to_string())),
                    u8::from(h.role == role).to_string(),
                )
            })
        })
        .collect();
    family(
        &mut out,
        "calendula_db_host_role",
        "gauge",
        "The host's role as last detected (1 for the current one).",
        &roles,
    );
    family(
        &mut out,
        "calendula_db_replica_lag_seconds",
        "gauge",
        "Replay lag of a replica at its last check.",
        &per_host(&|h| h.lag.map(secs)),
    );
    family(
        &mut out,
        "calendula_db_replica_lagging",
        "gauge",
        "1 when a replica takes no reads: it lags more than max_replica_lag, has not replayed the schema's migrations yet, or has not yet shown that it follows the master after a failover.",
        &per_host(&|h| Some(u8::from(h.lagging).to_string())),
    );
    family(
        &mut out,
        "calendula_db_pool_size",
        "gauge",
        "Open connections in the host's pool (idle, in use, or being opened).",
        &per_host(&|h| Some(h.size.to_string())),
    );
    family(
        &mut out,
        "calendula_db_pool_max_size",
        "gauge",
        "Connections at most in the host's pool.",
        &per_host(&|h| Some(h.max_size.to_string())),
    );
    let connections: Vec<(String, String)> = hosts
        .iter()
        .flat_map(|h| {
            let host = label(&h.addr.to_string());
            [
                (
                    format!("host=\"{host}\",state=\"idle\""),
                    h.idle.to_string(),
                ),
                (
                    format!("host=\"{host}\",state=\"in_use\""),
                    h.in_use.to_string(),
                ),
            ]
        })
        .collect();
    family(
        &mut out,
        "calendula_db_connections",
        "gauge",
        "Database connections by host and state.",
        &connections,
    );
    family(
        &mut out,
        "calendula_db_check_latency_seconds",
        "gauge",
        "Median latency of the host's recent successful health checks.",
        &per_host(&|h| h.check_latency.map(secs)),
    );
    let checks: Vec<(String, String)> = hosts
        .iter()
        .flat_map(|h| {
            let host = label(&h.addr.to_string());
            [
                (
                    format!("host=\"{host}\",result=\"ok\""),
                    h.checks_ok.to_string(),
                ),
                (
                    format!("host=\"{host}\",result=\"failed\""),
                    h.checks_failed.to_string(),
                ),
            ]
        })
        .collect();
    family(
        &mut out,
        "calendula_db_checks_total",
        "counter",
        "Health checks by result.",
        &checks,
    );
    family(
        &mut out,
        "calendula_db_role_changes_total",
        "counter",
        "Role changes detected (each one replaces the host's pool).",
        &per_host(&|h| Some(h.role_changes.to_string())),
    );
    family(
        &mut out,
        "calendula_db_acquires_total",
        "counter",
        "Connections handed out by the host's pool.",
        &per_host(&|h| Some(h.acquires.to_string())),
    );
    family(
        &mut out,
        "calendula_db_acquire_wait_seconds_total",
        "counter",
        "Total time those acquires waited (choosing the host and getting a connection).",
        &per_host(&|h| Some(secs(h.acquire_wait))),
    );
    family(
        &mut out,
        "calendula_db_acquire_failures_total",
        "counter",
        "Acquires that found no suitable host within their timeout (answered 503).",
        &[
            ("kind=\"read\"".into(), failed.0.to_string()),
            ("kind=\"write\"".into(), failed.1.to_string()),
        ],
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(port: u16, role: Role) -> HostSnapshot {
        HostSnapshot {
            index: 0,
            addr: HostAddr::new("db", port),
            role,
            lagging: false,
            lag: (role == Role::Replica).then(|| Duration::from_millis(250)),
            size: 3,
            idle: 2,
            in_use: 1,
            max_size: 10,
            check_latency: (role != Role::Down).then(|| Duration::from_micros(1500)),
            checks_ok: 7,
            checks_failed: 1,
            role_changes: 1,
            acquires: 42,
            acquire_wait: Duration::from_millis(5),
            last_error: None,
        }
    }

    #[test]
    fn metrics_describe_every_host() {
        let text = render_metrics(
            &[
                host(1, Role::Master),
                host(2, Role::Replica),
                host(3, Role::Down),
            ],
            (4, 5),
            true,
        );
        for line in [
            "# TYPE calendula_db_connections gauge",
            "calendula_db_ready 1",
            "calendula_db_host_up{host=\"db:1\"} 1",
            "calendula_db_host_up{host=\"db:3\"} 0",
            "calendula_db_host_role{host=\"db:2\",role=\"replica\"} 1",
            "calendula_db_host_role{host=\"db:2\",role=\"master\"} 0",
            "calendula_db_replica_lag_seconds{host=\"db:2\"} 0.25",
            "calendula_db_connections{host=\"db:1\",state=\"in_use\"} 1",
            "calendula_db_connections{host=\"db:1\",state=\"idle\"} 2",
            "calendula_db_pool_size{host=\"db:1\"} 3",
            "calendula_db_check_latency_seconds{host=\"db:1\"} 0.0015",
            "calendula_db_checks_total{host=\"db:1\",result=\"failed\"} 1",
            "calendula_db_acquires_total{host=\"db:2\"} 42",
            "calendula_db_acquire_wait_seconds_total{host=\"db:2\"} 0.005",
            "calendula_db_acquire_failures_total{kind=\"write\"} 5",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        assert!(!text.contains("calendula_db_check_latency_seconds{host=\"db:3\"}"));
        assert!(!text.contains("calendula_db_replica_lag_seconds{host=\"db:1\"}"));
    }
}
