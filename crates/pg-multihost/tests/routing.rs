//! Routing against a real primary and two streaming replicas (one cluster shared by the
//! tests of this file, which never stop or promote anything): where reads and writes land,
//! the greedy policy, `master_as_replica_weight`, `max_replica_lag`, option validation,
//! state snapshots, cancellation and close.

mod common;

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use calendula_pg::Cluster;
use common::*;
use diesel_async::SimpleAsyncConnection;
use pg_multihost::{AcquireError, AcquireOptions, MultiHostPool, PooledConn, Role};

const ROLES: [Role; 3] = [Role::Master, Role::Replica, Role::Replica];

fn shared() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let cluster = Cluster::temporary(2).expect("start a primary and two replicas");
        cluster
            .reap_when_process_exits()
            .expect("arrange cleanup of the shared cluster");
        cluster
    })
}

fn read(w: f64) -> AcquireOptions {
    AcquireOptions::read(Duration::from_secs(2), true, w)
}

fn write() -> AcquireOptions {
    AcquireOptions::write(Duration::from_secs(2))
}

/// Acquires reads, holding them all, until `n` connections on host `index` are held; then
/// releases the others. (Holding the others too is what lets host `index` win the greedy
/// choice again once it is the freest.)
async fn hold_on(pool: &MultiHostPool, index: usize, n: usize) -> Vec<PooledConn> {
    let mut held = Vec::new();
    let mut others = Vec::new();
    while held.len() < n {
        let conn = pool.acquire(&read(0.0)).await.expect("read");
        if conn.host_index() == index {
            held.push(conn);
        } else {
            others.push(conn);
        }
    }
    held
}

#[test]
fn reads_land_on_replicas_and_writes_on_the_primary() {
    let cluster = shared();
    runtime().block_on(async {
        let pool = pool_with_roles(config(cluster), &ROLES).await;
        for _ in 0..20 {
            let mut conn = pool.read().await.expect("read");
            assert_eq!(conn.role(), Role::Replica);
            assert_ne!(conn.host_index(), 0);
            assert!(
                in_recovery(&mut conn).await,
                "a read reached {}",
                conn.host()
            );
        }
        for i in 0..20 {
            let mut conn = pool.write().await.expect("write");
            assert_eq!((conn.role(), conn.host_index()), (Role::Master, 0));
            assert!(!in_recovery(&mut conn).await, "a write reached a standby");
            conn.batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS routing_t (x int); INSERT INTO routing_t VALUES ({i})"
            ))
            .await
            .expect("write on the master");
        }
        pool.close().await;
    });
}

#[test]
fn greedy_prefers_the_freest_pool_and_shares_ties_evenly() {
    let cluster = shared();
    runtime().block_on(async {
        let pool = pool_with_roles(config(cluster), &ROLES).await; // max_size 5
                                                                   // k = 3 held on replica 1: replica 2 (5 free) beats replica 1 (2 free) until it
                                                                   // too is down to 2 free connections.
        let held = hold_on(&pool, 1, 3).await;
        for _ in 0..20 {
            assert_eq!(
                pool.read().await.unwrap().host_index(),
                2,
                "released each time"
            );
        }
        let mut more = Vec::new();
        for _ in 0..3 {
            let conn = pool.read().await.unwrap();
            assert_eq!(conn.host_index(), 2, "held: 5, 4, 3 free on replica 2");
            more.push(conn);
        }
        let snapshot = pool.hosts();
        assert_eq!((snapshot[1].in_use, snapshot[2].in_use), (3, 3));
        drop((held, more));

        // Equal pools: each replica gets its share within ±35 % over 300 picks (the
        // binomial standard deviation is 8.7 picks, ±35 % is ±52 = 6 sigma).
        let mut counts = HashMap::new();
        for _ in 0..300 {
            let conn = pool.read().await.unwrap();
            *counts.entry(conn.host_index()).or_insert(0) += 1;
        }
        for host in [1, 2] {
            let n = counts.get(&host).copied().unwrap_or(0);
            assert!(
                (98..=202).contains(&n),
                "replica {host}: {n} of 300 ({counts:?})"
            );
        }
        assert!(
            !counts.contains_key(&0),
            "the master served reads with w = 0"
        );
        pool.close().await;
    });
}

#[test]
fn master_as_replica_weight_is_a_probability() {
    let cluster = shared();
    runtime().block_on(async {
        let pool = pool_with_roles(config(cluster), &ROLES).await;
        // One connection held on each replica: the master is the freest pool, so it wins
        // exactly when it is a candidate.
        let mut held = hold_on(&pool, 1, 1).await;
        held.extend(hold_on(&pool, 2, 1).await);
        let masters = |w: f64, draws: usize| {
            let pool = pool.clone();
            async move {
                let mut n = 0;
                for _ in 0..draws {
                    if pool.acquire(&read(w)).await.unwrap().host_index() == 0 {
                        n += 1;
                    }
                }
                n
            }
        };
        assert_eq!(masters(0.0, 300).await, 0, "w = 0: never the master");
        assert_eq!(masters(1.0, 300).await, 300, "w = 1: always a candidate");
        // w = 0.5 over 10 000 draws: mean 5000, sigma 50; 6 sigma = ±300.
        let n = masters(0.5, 10_000).await;
        assert!((4700..=5300).contains(&n), "w = 0.5: master {n} of 10000");
        drop(held);

        // Out of range, or given for a write: rejected, whatever the hosts.
        for w in [-0.01, 1.01, f64::NAN] {
            assert!(matches!(
                pool.acquire(&read(w)).await,
                Err(AcquireError::InvalidOptions(_))
            ));
        }
        let mut bad_write = write();
        bad_write.master_as_replica_weight = Some(0.5);
        assert!(matches!(
            pool.acquire(&bad_write).await,
            Err(AcquireError::InvalidOptions(_))
        ));
        let mut bad = config(cluster);
        bad.master_as_replica_weight = 1.5;
        assert!(MultiHostPool::new(bad).is_err());
        pool.close().await;
    });
}

#[test]
fn a_lagging_replica_takes_no_reads_until_it_catches_up() {
    let cluster = shared();
    let primary = &cluster.instances()[0];
    let replica = &cluster.instances()[1];
    primary
        .psql(
            "calendula",
            "CREATE TABLE IF NOT EXISTS lag_t (x int); INSERT INTO lag_t VALUES (1)",
        )
        .unwrap();
    runtime().block_on(async {
        let mut config = config(cluster);
        config.max_replica_lag = Some(Duration::from_millis(500));
        let pool = pool_with_roles(config, &ROLES).await;
        blocking(|| shared().instances()[1].psql("postgres", "SELECT pg_wal_replay_pause()"))
            .await
            .unwrap();
        // Replica 1 receives this but does not replay it: its lag grows from the moment the
        // master had it.
        blocking(|| shared().instances()[0].psql("calendula", "INSERT INTO lag_t VALUES (2)"))
            .await
            .unwrap();
        let waited = std::time::Instant::now();
        while !pool.hosts()[1].lagging {
            assert!(
                waited.elapsed() < Duration::from_secs(10),
                "replica 1 not marked lagging: {:?}",
                pool.hosts()[1]
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(pool.hosts()[1].lag.unwrap() > Duration::from_millis(500));
        for _ in 0..50 {
            assert_eq!(pool.read().await.unwrap().host_index(), 2);
        }
        blocking(|| shared().instances()[1].psql("postgres", "SELECT pg_wal_replay_resume()"))
            .await
            .unwrap();
        wait_until("replica 1 caught up", Duration::from_secs(10), || {
            !pool.hosts()[1].lagging
        })
        .await;
        let mut back = false;
        for _ in 0..100 {
            back |= pool.read().await.unwrap().host_index() == 1;
        }
        assert!(back, "replica 1 takes reads again");
        pool.close().await;
    });
    assert!(replica.is_in_recovery().unwrap());
}

#[test]
fn snapshots_report_roles_sizes_latency_and_acquires() {
    let cluster = shared();
    runtime().block_on(async {
        let pool = MultiHostPool::new(config(cluster)).unwrap();
        let before = pool.hosts();
        assert!(before
            .iter()
            .all(|h| h.check_latency.is_none() == (h.checks_ok == 0)));
        wait_until("two checks per host", Duration::from_secs(10), || {
            pool.hosts().iter().all(|h| h.checks_ok >= 2)
        })
        .await;
        let held = (pool.write().await.unwrap(), pool.write().await.unwrap());
        let hosts = pool.hosts();
        assert_eq!(hosts.iter().map(|h| h.role).collect::<Vec<_>>(), ROLES);
        assert_eq!(hosts[0].in_use, 2);
        assert_eq!(hosts[0].acquires, 2);
        assert!(hosts[0].size >= 2 && hosts[0].size <= hosts[0].max_size);
        assert!(hosts[0].acquire_wait > Duration::ZERO);
        for h in &hosts {
            let latency = h.check_latency.expect("a median after successful checks");
            assert!(latency < REFRESH_TIMEOUT, "{latency:?}");
            assert_eq!((h.checks_failed, h.lagging), (0, false));
            assert!(h.last_error.is_none());
        }
        // Replay lag is measured on replicas only (another test may pause replica 1).
        assert!(hosts[0].lag.is_none() && hosts[1].lag.is_some() && hosts[2].lag.is_some());
        drop(held);
        assert_eq!(pool.hosts()[0].in_use, 0);
        assert_eq!(pool.failed_acquires(), (0, 0));
        pool.close().await;
    });
}

#[test]
fn cancelled_acquires_leak_no_task_and_no_connection() {
    let cluster = shared();
    runtime().block_on(async {
        let mut config = config(cluster);
        config.max_size = 2;
        let pool = pool_with_roles(config.clone(), &ROLES).await;
        let held = (pool.write().await.unwrap(), pool.write().await.unwrap());
        tokio::time::sleep(Duration::from_millis(300)).await; // replicas' min_idle opened
        let metrics = tokio::runtime::Handle::current().metrics();
        let baseline = metrics.num_alive_tasks();

        // Waiters on an exhausted pool, cancelled two ways: aborted tasks and futures
        // dropped by an outer timeout.
        let waiters: Vec<_> = (0..50)
            .map(|_| {
                let pool = pool.clone();
                tokio::spawn(async move { pool.write().await.map(drop) })
            })
            .collect();
        for _ in 0..50 {
            let _ = tokio::time::timeout(Duration::from_millis(5), pool.write()).await;
        }
        for w in &waiters {
            w.abort();
        }
        for w in waiters {
            assert!(w.await.unwrap_err().is_cancelled());
        }
        drop(held);
        let conn = tokio::time::timeout(Duration::from_millis(500), pool.write())
            .await
            .expect("a returned connection is available at once")
            .unwrap();
        drop(conn);
        wait_until("tasks back to the baseline", Duration::from_secs(5), || {
            metrics.num_alive_tasks() <= baseline
        })
        .await;
        let master = &pool.hosts()[0];
        assert_eq!(master.in_use, 0);
        assert!(master.size <= 2, "{master:?}");
        let cfg = config.clone();
        let open = blocking(move || server_connections(shared(), &cfg)).await;
        // 2 on the master, at most 2 per replica, plus one checker connection per host.
        assert!(open <= 2 + 2 + 2 + 3, "{open} server connections");
        pool.close().await;
    });
}

#[test]
fn close_stops_the_checkers_and_closes_every_connection() {
    let cluster = shared();
    runtime().block_on(async {
        let config = config(cluster);
        let pool = pool_with_roles(config.clone(), &ROLES).await;
        let mut held = pool.write().await.unwrap();
        drop((pool.read().await.unwrap(), pool.read().await.unwrap()));
        let cfg = config.clone();
        assert!(blocking(move || server_connections(shared(), &cfg)).await >= 4);

        let metrics = tokio::runtime::Handle::current().metrics();
        pool.close().await;
        pool.close().await; // idempotent
        let checks: u64 = pool.hosts().iter().map(|h| h.checks_ok).sum();
        assert!(matches!(pool.read().await, Err(AcquireError::Closed)));
        assert!(matches!(pool.write().await, Err(AcquireError::Closed)));
        // A connection handed out before close still works, and closes when returned.
        assert!(!in_recovery(&mut held).await);
        drop(held);
        tokio::time::sleep(REFRESH_DELAY * 3).await;
        assert_eq!(
            pool.hosts().iter().map(|h| h.checks_ok).sum::<u64>(),
            checks,
            "no check after close"
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let cfg = config.clone();
            let open = blocking(move || server_connections(shared(), &cfg)).await;
            if open == 0 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{open} connections still open after close"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // The bb8 reapers notice their pool is gone at their next tick (1 s).
        wait_until(
            "every task of the pool to end",
            Duration::from_secs(5),
            || metrics.num_alive_tasks() == 0,
        )
        .await;
    });
}
