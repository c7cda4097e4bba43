//! Helpers for the pool tests: real PostgreSQL clusters from the project's launcher, pool
//! configs with fast health checks, and small async utilities.

#![allow(dead_code)]

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use calendula_pg::Cluster;
use diesel::sql_types::{Bool, Integer};
use diesel_async::RunQueryDsl;
use pg_multihost::{ConnectOptions, HostAddr, MultiHostPool, PoolConfig, PooledConn, Role};

pub const REFRESH_DELAY: Duration = Duration::from_millis(200);
pub const REFRESH_TIMEOUT: Duration = Duration::from_secs(1);

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A throw-away primary with `replicas` streaming replicas.
pub fn cluster(replicas: usize) -> Arc<Cluster> {
    Arc::new(Cluster::temporary(replicas).expect("start a PostgreSQL cluster"))
}

pub fn hosts(cluster: &Cluster) -> Vec<HostAddr> {
    cluster
        .instances()
        .iter()
        .map(|i| HostAddr::new(i.host(), i.port()))
        .collect()
}

/// A config over every instance of `cluster` with fast checks and a unique
/// application_name (so tests can count their server-side connections).
pub fn config(cluster: &Cluster) -> PoolConfig {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let mut connect = ConnectOptions::new(cluster.user(), cluster.dbname());
    connect.application_name = format!(
        "mh-test-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    connect.connect_timeout = Duration::from_secs(2);
    let mut config = PoolConfig::new(hosts(cluster), connect);
    config.min_size = 1;
    config.max_size = 5;
    config.timeout = Duration::from_secs(2);
    config.refresh_delay = REFRESH_DELAY;
    config.refresh_timeout = REFRESH_TIMEOUT;
    config.master_as_replica_weight = 0.0;
    config.fallback_master = true;
    config
}

/// Builds the pool and waits until every host's first check has classified it as expected.
pub async fn pool_with_roles(config: PoolConfig, roles: &[Role]) -> MultiHostPool {
    let pool = MultiHostPool::new(config).expect("valid pool config");
    let expected = roles.to_vec();
    wait_until("the initial roles", Duration::from_secs(15), || {
        pool.hosts().iter().map(|h| h.role).collect::<Vec<_>>() == expected
    })
    .await;
    pool
}

/// Polls `cond` every 20 ms; panics naming `what` after `limit`.
pub async fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    loop {
        if cond() {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs blocking launcher work (stop, kill, promote, psql) off the async workers.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("blocking task")
}

#[derive(diesel::QueryableByName)]
struct Recovery {
    #[diesel(sql_type = Bool)]
    in_recovery: bool,
}

#[derive(diesel::QueryableByName)]
struct Pid {
    #[diesel(sql_type = Integer)]
    pid: i32,
}

/// `pg_is_in_recovery()` on the connection itself.
pub async fn in_recovery(conn: &mut PooledConn) -> bool {
    diesel::sql_query("SELECT pg_is_in_recovery() AS in_recovery")
        .get_result::<Recovery>(&mut **conn)
        .await
        .expect("pg_is_in_recovery()")
        .in_recovery
}

pub async fn backend_pid(conn: &mut PooledConn) -> i32 {
    diesel::sql_query("SELECT pg_backend_pid() AS pid")
        .get_result::<Pid>(&mut **conn)
        .await
        .expect("pg_backend_pid()")
        .pid
}

/// Server-side connections opened by the pool with this config, over every running
/// instance of the cluster.
pub fn server_connections(cluster: &Cluster, config: &PoolConfig) -> usize {
    cluster
        .instances()
        .iter()
        .filter(|i| i.is_running())
        .map(|i| {
            i.psql(
                "postgres",
                &format!(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = '{}'",
                    config.connect.application_name
                ),
            )
            .expect("count connections")
            .parse::<usize>()
            .expect("a count")
        })
        .sum()
}

/// Times a future.
pub async fn timed<T>(f: impl Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let out = f.await;
    (out, started.elapsed())
}

/// A PostgreSQL server stopped with SIGSTOP, postmaster and backends alike: it keeps its
/// TCP connections open but answers nothing (a hung VM, a stalled disk). Thawed (SIGCONT)
/// on drop, also when the test fails.
pub struct Frozen(Vec<u32>);

impl Frozen {
    pub fn new(postmaster: u32) -> Self {
        let mut pids = vec![postmaster];
        pids.extend(children(postmaster));
        signal("-STOP", &pids);
        Self(pids)
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        signal("-CONT", &self.0);
    }
}

fn children(parent: u32) -> Vec<u32> {
    let out = std::process::Command::new("pgrep")
        .args(["-P", &parent.to_string()])
        .output()
        .expect("run pgrep");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

fn signal(which: &str, pids: &[u32]) {
    let status = std::process::Command::new("kill")
        .arg(which)
        .args(pids.iter().map(u32::to_string))
        .status()
        .expect("run kill");
    assert!(status.success(), "kill {which} {pids:?}");
}
