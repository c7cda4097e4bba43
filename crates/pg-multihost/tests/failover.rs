//! Failures against real PostgreSQL: replicas stopped or killed, the primary stopped and a
//! replica promoted, the old primary turned into a standby, every host down, a server
//! turning read-only under the pool. Each test owns its cluster (they stop and promote).

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use pg_multihost::{AcquireError, AcquireOptions, MultiHostPool, Role};

const ROLES: [Role; 3] = [Role::Master, Role::Replica, Role::Replica];

fn read(timeout: Duration, fallback_master: bool) -> AcquireOptions {
    AcquireOptions::read(timeout, fallback_master, 0.0)
}

fn roles(pool: &MultiHostPool) -> Vec<Role> {
    pool.hosts().iter().map(|h| h.role).collect()
}

/// One read through the pool: the host that answered, or why it failed.
async fn try_read(pool: &MultiHostPool) -> Result<usize, String> {
    let mut conn = pool.read().await.map_err(|e| e.to_string())?;
    diesel::sql_query("SELECT 1")
        .execute(&mut *conn)
        .await
        .map_err(|e| e.to_string())?;
    Ok(conn.host_index())
}

fn assert_no_host(result: Result<pg_multihost::PooledConn, AcquireError>, read_only: bool) {
    match result {
        Err(AcquireError::NoHost { read_only: r, .. }) => assert_eq!(r, read_only),
        other => panic!("expected NoHost, got {other:?}"),
    }
}

/// Issue test 4.
#[test]
fn reads_fall_back_to_the_master_only_when_allowed_and_replicas_come_back() {
    let cluster = cluster(2);
    runtime().block_on(async {
        let with = pool_with_roles(config(&cluster), &ROLES).await;
        let mut no_fallback = config(&cluster);
        no_fallback.fallback_master = false;
        let without = pool_with_roles(no_fallback, &ROLES).await;

        let c = cluster.clone();
        blocking(move || {
            c.instances()[1].stop().unwrap();
            c.instances()[2].stop().unwrap();
        })
        .await;
        wait_until("both replicas down", Duration::from_secs(10), || {
            [&with, &without]
                .iter()
                .all(|p| roles(p) == [Role::Master, Role::Down, Role::Down])
        })
        .await;

        for _ in 0..20 {
            let mut conn = with.read().await.expect("fallback read");
            assert_eq!(conn.host_index(), 0);
            assert!(!in_recovery(&mut conn).await);
        }
        let budget = Duration::from_millis(300);
        for _ in 0..5 {
            let (result, took) = timed(without.acquire(&read(budget, false))).await;
            assert_no_host(result, true);
            assert!(took >= budget && took < budget * 2, "failed after {took:?}");
        }

        let c = cluster.clone();
        blocking(move || c.instances()[1].start().unwrap()).await;
        // Already waiting when the checker finds the replica back.
        let (conn, took) = timed(without.acquire(&read(Duration::from_secs(10), false))).await;
        assert_eq!(conn.expect("replica 1 back").host_index(), 1);
        assert!(
            took < REFRESH_DELAY + Duration::from_millis(800),
            "back in rotation after {took:?}"
        );
        // Each pool has its own checker: the fallback pool may see the replica a moment later.
        wait_until(
            "the fallback pool sees replica 1",
            REFRESH_DELAY * 3,
            || roles(&with)[1] == Role::Replica,
        )
        .await;
        for _ in 0..20 {
            assert_eq!(
                with.read().await.unwrap().host_index(),
                1,
                "no fallback needed"
            );
        }
        with.close().await;
        without.close().await;
    });
}

/// Issue test 5.
#[test]
fn a_replica_killed_under_read_load_costs_at_most_two_reads() {
    let cluster = cluster(2);
    runtime().block_on(async {
        let pool = pool_with_roles(config(&cluster), &ROLES).await;
        // Two readers, 150 reads each, one every 20 ms (3 s); the kill comes at 0.5 s.
        let start = tokio::time::Instant::now();
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let pool = pool.clone();
                tokio::spawn(async move {
                    let mut results = Vec::new();
                    for i in 0..150 {
                        tokio::time::sleep_until(start + Duration::from_millis(20) * i).await;
                        results.push((Instant::now(), try_read(&pool).await));
                    }
                    results
                })
            })
            .collect();
        tokio::time::sleep_until(start + Duration::from_millis(500)).await;
        let killed_at = Instant::now();
        let c = cluster.clone();
        blocking(move || c.instances()[1].kill().unwrap()).await;
        let mut results = Vec::new();
        for reader in readers {
            results.extend(reader.await.unwrap());
        }
        assert_eq!(results.len(), 300);
        let failed: Vec<_> = results.iter().filter(|(_, r)| r.is_err()).collect();
        assert!(
            failed.len() <= 2,
            "{} failed reads: {failed:?}",
            failed.len()
        );
        let detected = killed_at + REFRESH_DELAY + REFRESH_TIMEOUT;
        let after: Vec<_> = results.iter().filter(|(t, _)| *t > detected).collect();
        assert!(
            after.len() >= 30,
            "the load went on after detection: {}",
            after.len()
        );
        for (_, result) in after {
            assert_eq!(result, &Ok(2), "after detection only replica 2 serves");
        }
        assert!(
            results.iter().any(|(t, r)| *t < killed_at && r == &Ok(1)),
            "replica 1 served before the kill"
        );
        assert_eq!(pool.hosts()[1].role, Role::Down);
        pool.close().await;
    });
}

/// Issue tests 6 and 7.
#[test]
fn failover_to_a_promoted_replica_and_the_old_primary_as_a_standby() {
    let cluster = Arc::new(Mutex::new(calendula_pg::Cluster::temporary(2).unwrap()));
    let with_cluster = |f: fn(&mut calendula_pg::Cluster)| {
        let cluster = cluster.clone();
        blocking(move || f(&mut cluster.lock().unwrap()))
    };
    let config = {
        let c = cluster.lock().unwrap();
        c.primary()
            .psql("calendula", "CREATE TABLE ft (id int PRIMARY KEY)")
            .unwrap();
        config(&c)
    };
    runtime().block_on(async {
        let pool = pool_with_roles(config, &ROLES).await;
        let insert = |pool: MultiHostPool, id: i32| async move {
            let mut conn = pool.write().await.expect("a master");
            conn.batch_execute(&format!("INSERT INTO ft VALUES ({id})"))
                .await
                .expect("insert");
            conn.host_index()
        };
        assert_eq!(insert(pool.clone(), 0).await, 0);

        // 6: the primary stops. Writes fail within their budget; reads go on.
        with_cluster(|c| c.instances()[0].stop().unwrap()).await;
        let budget = Duration::from_millis(500);
        for _ in 0..3 {
            let (result, took) = timed(pool.acquire(&AcquireOptions::write(budget))).await;
            assert_no_host(result, false);
            assert!(took >= budget && took < budget * 2, "failed after {took:?}");
        }
        for _ in 0..20 {
            let host = try_read(&pool).await.expect("reads keep working");
            assert!(host == 1 || host == 2);
        }
        // A replica is promoted: writes resume on it, no restart.
        with_cluster(|c| c.instances()[1].promote().unwrap()).await;
        let (conn, took) =
            timed(pool.acquire(&AcquireOptions::write(Duration::from_secs(10)))).await;
        assert_eq!(conn.expect("the new master").host_index(), 1);
        assert!(
            took < REFRESH_DELAY + Duration::from_secs(1),
            "writes resumed after {took:?}"
        );
        assert_eq!(insert(pool.clone(), 1).await, 1);

        // 7: the old primary comes back as a standby of the new one.
        with_cluster(|c| c.rebuild_as_standby(0, 1).unwrap()).await;
        wait_until(
            "the old primary seen as a replica",
            Duration::from_secs(10),
            || pool.hosts()[0].role == Role::Replica,
        )
        .await;
        let old = &pool.hosts()[0];
        assert!(
            old.role_changes >= 3,
            "down->master->down->replica: {old:?}"
        );
        assert_eq!(roles(&pool)[1], Role::Master);
        // It takes reads once it has replayed WAL the new master wrote after it came back,
        // also with no write: while a replica waits, the master's checker commits an empty
        // transaction.
        wait_until(
            "the demoted primary taking reads",
            Duration::from_secs(10),
            || !pool.hosts()[0].lagging,
        )
        .await;
        for id in 2..52 {
            assert_eq!(
                insert(pool.clone(), id).await,
                1,
                "no write reaches the old primary"
            );
        }
        let mut served_by_old = false;
        for _ in 0..60 {
            served_by_old |= try_read(&pool).await.unwrap() == 0;
        }
        assert!(
            served_by_old,
            "the demoted primary serves reads as a replica"
        );
        let c = cluster.clone();
        let (recovering, rows) = blocking(move || {
            let c = c.lock().unwrap();
            let old = &c.instances()[0];
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let rows = old.psql("calendula", "SELECT count(*) FROM ft").unwrap();
                if rows == "52" || Instant::now() > deadline {
                    return (old.is_in_recovery().unwrap(), rows);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
        .await;
        assert!(recovering);
        assert_eq!(
            rows, "52",
            "every write went to the new primary and replicated back"
        );
        pool.close().await;
    });
}

/// Issue test 8, and start-up with every host down.
#[test]
fn with_every_host_down_acquires_fail_within_budget_and_recover() {
    let cluster = cluster(1);
    runtime().block_on(async {
        let pool = pool_with_roles(config(&cluster), &[Role::Master, Role::Replica]).await;
        let c = cluster.clone();
        blocking(move || {
            c.instances()[1].stop().unwrap();
            c.instances()[0].stop().unwrap();
        })
        .await;
        wait_until("every host down", Duration::from_secs(10), || {
            roles(&pool) == [Role::Down, Role::Down]
        })
        .await;

        // A pool created now does not wait for anything.
        let started = Instant::now();
        let late = MultiHostPool::new(config(&cluster)).unwrap();
        assert!(started.elapsed() < Duration::from_millis(50));

        let budget = Duration::from_millis(100);
        for p in [&pool, &late] {
            for options in [AcquireOptions::write(budget), read(budget, true)] {
                for _ in 0..5 {
                    let (result, took) = timed(p.acquire(&options)).await;
                    assert_no_host(result, options.read_only);
                    assert!(
                        took >= budget && took < Duration::from_millis(200),
                        "a 100 ms budget failed after {took:?}"
                    );
                }
            }
            assert_eq!(p.failed_acquires(), (5, 5));
        }

        let c = cluster.clone();
        blocking(move || {
            c.instances()[0].start().unwrap();
            c.instances()[1].start().unwrap();
        })
        .await;
        for p in [&pool, &late] {
            let mut conn = p
                .acquire(&AcquireOptions::write(Duration::from_secs(10)))
                .await
                .expect("recovered");
            assert!(!in_recovery(&mut conn).await);
            drop(conn);
            wait_until("the replica back", Duration::from_secs(10), || {
                roles(p) == [Role::Master, Role::Replica]
            })
            .await;
            assert_eq!(try_read(p).await, Ok(1));
        }
        pool.close().await;
        late.close().await;
    });
}

/// Cuts a replica off from its primary (`false`: no `primary_conninfo`) or lets it stream
/// again (`true`), at once and across restarts.
fn stream_from_primary(replica: &calendula_pg::Instance, stream: bool) {
    let change = if stream {
        "RESET primary_conninfo"
    } else {
        "SET primary_conninfo = ''"
    };
    replica
        .psql(
            "postgres",
            &format!("ALTER SYSTEM {change}; SELECT pg_reload_conf()"),
        )
        .unwrap();
}

/// Cuts a replica off from its primary and waits until its WAL receiver is gone.
async fn cut_off(replica: &calendula_pg::Instance) {
    stream_from_primary(replica, false);
    wait_until(
        &format!("{}'s WAL receiver gone", replica.name()),
        Duration::from_secs(10),
        || {
            replica
                .psql("postgres", "SELECT count(*) FROM pg_stat_wal_receiver")
                .unwrap()
                == "0"
        },
    )
    .await;
}

/// A replica cut off from the primary receives nothing, so by its own account (received vs
/// replayed) it is never behind; measured against the master's WAL position it is, and it
/// takes no reads until it streams again.
#[test]
fn a_replica_cut_off_from_the_primary_is_lagging() {
    let cluster = cluster(1);
    let primary = || &cluster.instances()[0];
    let replica = || &cluster.instances()[1];
    primary()
        .psql("calendula", "CREATE TABLE cut_t (x int)")
        .unwrap();
    runtime().block_on(async {
        let mut config = config(&cluster);
        config.max_replica_lag = Some(Duration::from_millis(500));
        let pool = pool_with_roles(config, &[Role::Master, Role::Replica]).await;
        cut_off(replica()).await;
        primary()
            .psql("calendula", "INSERT INTO cut_t VALUES (1)")
            .unwrap();
        wait_until(
            "the cut-off replica lagging",
            Duration::from_secs(10),
            || pool.hosts()[1].lagging,
        )
        .await;
        assert!(pool.hosts()[1].lag.unwrap() > Duration::from_millis(500));
        for _ in 0..20 {
            assert_eq!(try_read(&pool).await, Ok(0), "reads go to the master");
        }

        stream_from_primary(replica(), true);
        wait_until("the replica caught up", Duration::from_secs(15), || {
            !pool.hosts()[1].lagging
        })
        .await;
        assert_eq!(try_read(&pool).await, Ok(1));
        pool.close().await;
    });
}

/// A frozen primary (SIGSTOP) keeps its sockets open, so a statement sent to it would wait
/// forever; once a check times out and the host is down, its connections are closed and the
/// statement fails. After the thaw the host is the master again.
#[test]
fn a_statement_on_a_frozen_primary_fails_once_it_is_found_down_instead_of_hanging() {
    let cluster = cluster(0);
    runtime().block_on(async {
        let pool = pool_with_roles(config(&cluster), &[Role::Master]).await;
        let mut conn = pool.write().await.expect("a master connection");
        let frozen = Frozen::new(cluster.primary().pid().expect("running"));
        let (result, took) = timed(tokio::time::timeout(
            Duration::from_secs(20),
            diesel::sql_query("SELECT 1").execute(&mut *conn),
        ))
        .await;
        drop(frozen);
        let error = result
            .expect("the statement hung on the frozen server")
            .expect_err("a frozen server answered");
        assert!(
            matches!(
                error,
                DieselError::DatabaseError(
                    DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                    _
                )
            ),
            "{error:?}"
        );
        // One period plus one check deadline, and slack for a busy machine.
        assert!(
            took < REFRESH_DELAY + REFRESH_TIMEOUT + Duration::from_secs(3),
            "failed only after {took:?}"
        );
        drop(conn);
        wait_until("the master back", Duration::from_secs(10), || {
            roles(&pool) == [Role::Master]
        })
        .await;
        let mut conn = pool.write().await.expect("a master connection");
        assert!(!in_recovery(&mut conn).await);
        drop(conn);
        pool.close().await;
    });
}

/// SQLSTATE 25006: a server that turns read-only under the pool (the demoted primary
/// that still answers). With a 60 s check period, only the immediate re-check triggered
/// by the failed write can notice it in time.
#[test]
fn a_write_refused_as_read_only_rechecks_at_once_and_drops_old_connections() {
    let cluster = cluster(0);
    let primary = || &cluster.instances()[0];
    primary()
        .psql("calendula", "CREATE TABLE ro_t (x int)")
        .unwrap();
    let mut config = config(&cluster);
    config.refresh_delay = Duration::from_secs(60);
    runtime().block_on(async {
        let pool = pool_with_roles(config, &[Role::Master]).await;
        let mut held = pool.write().await.unwrap();
        let mut other = pool.write().await.unwrap();
        let old_pids = [backend_pid(&mut held).await, backend_pid(&mut other).await];
        drop(other);

        let c = cluster.clone();
        blocking(move || {
            c.instances()[0]
                .psql(
                    "postgres",
                    "ALTER SYSTEM SET default_transaction_read_only = on; SELECT pg_reload_conf()",
                )
                .unwrap()
        })
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;

        let mut conn = pool.write().await.expect("still believed master");
        let error = conn
            .batch_execute("INSERT INTO ro_t VALUES (1)")
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                DieselError::DatabaseError(DatabaseErrorKind::ReadOnlyTransaction, _)
            ),
            "{error:?}"
        );
        drop(conn);
        let took = wait_until("the role re-detected", Duration::from_secs(5), || {
            pool.hosts()[0].role == Role::Replica
        })
        .await;
        assert!(took < Duration::from_secs(2), "re-detected after {took:?}");

        let (result, took) =
            timed(pool.acquire(&AcquireOptions::write(Duration::from_millis(300)))).await;
        assert_no_host(result, false);
        assert!(took < Duration::from_millis(600));
        for _ in 0..10 {
            let mut conn = pool.read().await.expect("reads fall back to it");
            assert_eq!(conn.role(), Role::Replica);
            let pid = backend_pid(&mut conn).await;
            assert!(
                !old_pids.contains(&pid),
                "a connection from its master days"
            );
        }
        // The connection a request still holds keeps working for it, and is closed (not
        // pooled) when returned.
        assert!(!in_recovery(&mut held).await);
        drop(held);
        let pids = format!("{}, {}", old_pids[0], old_pids[1]);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let c = cluster.clone();
            let sql = format!("SELECT count(*) FROM pg_stat_activity WHERE pid IN ({pids})");
            let left = blocking(move || c.instances()[0].psql("postgres", &sql).unwrap()).await;
            if left == "0" {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{left} old connections still open"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        let c = cluster.clone();
        blocking(move || {
            c.instances()[0]
                .psql(
                    "postgres",
                    "ALTER SYSTEM RESET default_transaction_read_only; SELECT pg_reload_conf()",
                )
                .unwrap()
        })
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        pool.recheck(0);
        wait_until("master again", Duration::from_secs(2), || {
            pool.hosts()[0].role == Role::Master
        })
        .await;
        let mut conn = pool.write().await.unwrap();
        conn.batch_execute("INSERT INTO ro_t VALUES (2)")
            .await
            .unwrap();
        drop(conn);
        pool.close().await;
    });
}

/// A replica promoted while the old primary still runs: two masters. Writes to both would
/// fork the data, so none is handed out until one of them is gone; reads go on.
#[test]
fn no_writes_while_two_hosts_answer_as_master() {
    let cluster = cluster(1);
    runtime().block_on(async {
        let pool = pool_with_roles(config(&cluster), &[Role::Master, Role::Replica]).await;
        let c = cluster.clone();
        blocking(move || c.instances()[1].promote().unwrap()).await;
        wait_until("two masters", Duration::from_secs(10), || {
            roles(&pool) == [Role::Master, Role::Master]
        })
        .await;
        let budget = Duration::from_millis(300);
        for _ in 0..3 {
            assert_no_host(pool.acquire(&AcquireOptions::write(budget)).await, false);
        }
        assert!(try_read(&pool).await.is_ok(), "reads go on");

        let c = cluster.clone();
        blocking(move || c.instances()[0].stop().unwrap()).await;
        let conn = pool
            .acquire(&AcquireOptions::write(Duration::from_secs(10)))
            .await
            .expect("a write once one master is left");
        assert_eq!(conn.host_index(), 1);
    });
}

/// `SELECT pg_wal_replay_<action>()` on instance `which` (pause or resume).
async fn replay(cluster: &Arc<calendula_pg::Cluster>, which: usize, action: &'static str) {
    let c = cluster.clone();
    blocking(move || {
        c.instances()[which]
            .psql("postgres", &format!("SELECT pg_wal_replay_{action}()"))
            .unwrap()
    })
    .await;
}

/// `record_write`: a read after it sees the write. A replica that has not replayed it is
/// waited for briefly, then the master answers (with `fallback_master`), or else the
/// replica as it is; a replica that has replayed it serves at once.
#[test]
fn reads_after_a_recorded_write_see_it() {
    let cluster = cluster(1);
    cluster.instances()[0]
        .psql("calendula", "CREATE TABLE ryw (x int)")
        .unwrap();
    runtime().block_on(async {
        let pool = pool_with_roles(config(&cluster), &[Role::Master, Role::Replica]).await;
        let mut no_fallback = config(&cluster);
        no_fallback.fallback_master = false;
        let strict = pool_with_roles(no_fallback, &[Role::Master, Role::Replica]).await;
        replay(&cluster, 1, "pause").await;

        for p in [&pool, &strict] {
            let mut conn = p.write().await.unwrap();
            conn.batch_execute("INSERT INTO ryw VALUES (1)")
                .await
                .unwrap();
            drop(conn);
            p.record_write().await.unwrap();
        }
        assert_eq!(try_read(&pool).await, Ok(0), "the master answers");
        assert_eq!(
            try_read(&strict).await,
            Ok(1),
            "no fallback: the replica as it is"
        );

        replay(&cluster, 1, "resume").await;
        let mut served_by_replica = false;
        for _ in 0..50 {
            if try_read(&pool).await == Ok(1) {
                served_by_replica = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            served_by_replica,
            "a replica that replayed the write serves reads"
        );
    });
}

/// A write recorded while the only replica is down still counts when the replica comes
/// back without it (here: cut off from the primary, so it never streams the write): reads
/// go to the master. Such a replica, found by its checks far behind, is not waited for:
/// each read falls back at once instead of after the 100 ms catch-up wait.
#[test]
fn a_replica_back_with_a_backlog_serves_no_read_from_before_a_recorded_write() {
    let cluster = cluster(1);
    let primary = || &cluster.instances()[0];
    let replica = || &cluster.instances()[1];
    primary()
        .psql("calendula", "CREATE TABLE backlog_t (x int)")
        .unwrap();
    cluster.wait_for_replicas(Duration::from_secs(10)).unwrap();
    stream_from_primary(replica(), false);
    replica().stop().unwrap();
    runtime().block_on(async {
        let pool = pool_with_roles(config(&cluster), &[Role::Master, Role::Down]).await;
        let mut conn = pool.write().await.unwrap();
        conn.batch_execute("INSERT INTO backlog_t VALUES (1)")
            .await
            .unwrap();
        drop(conn);
        pool.record_write().await.unwrap();

        let c = cluster.clone();
        blocking(move || c.instances()[1].start().unwrap()).await;
        wait_until("the replica back", Duration::from_secs(10), || {
            roles(&pool) == [Role::Master, Role::Replica]
        })
        .await;
        assert_eq!(
            replica()
                .psql("calendula", "SELECT count(*) FROM backlog_t")
                .unwrap(),
            "0",
            "the replica lacks the write"
        );
        assert_eq!(try_read(&pool).await, Ok(0), "the master answers");

        wait_until("the replica found behind", Duration::from_secs(10), || {
            pool.hosts()[1]
                .lag
                .is_some_and(|lag| lag > Duration::from_millis(500))
        })
        .await;
        let mut fastest = Duration::MAX;
        for _ in 0..5 {
            let started = Instant::now();
            assert_eq!(try_read(&pool).await, Ok(0));
            fastest = fastest.min(started.elapsed());
        }
        // A wait gives up after 95-100 ms; a read that skips it takes a few.
        assert!(
            fastest < Duration::from_millis(50),
            "reads waited for a replica far behind: fastest {fastest:?}"
        );
        pool.close().await;
    });
}

/// A failover that lost WAL: the promoted replica had stopped streaming, and the other
/// replica received more from the old primary before it died. WAL positions carry no
/// timeline, so that replica stands past the new master's position and looks up to date,
/// while it holds writes the new master never had and lacks the new master's own: it takes
/// no reads until it shows it follows the new master.
#[test]
fn a_replica_left_on_the_old_timeline_takes_no_reads() {
    let cluster = cluster(2);
    let instance = |i: usize| &cluster.instances()[i];
    instance(0)
        .psql("calendula", "CREATE TABLE fork_t (x int, pad text)")
        .unwrap();
    cluster.wait_for_replicas(Duration::from_secs(10)).unwrap();
    runtime().block_on(async {
        let pool = pool_with_roles(config(&cluster), &ROLES).await;
        cut_off(instance(1)).await;
        // About 20 MB of WAL that only replica 2 receives, and replays only after the
        // failover was noticed: replaying what it had received shows nothing.
        replay(&cluster, 2, "pause").await;
        instance(0)
            .psql(
                "calendula",
                "INSERT INTO fork_t SELECT g, repeat('x', 1000) FROM generate_series(1, 20000) g",
            )
            .unwrap();
        let end = instance(0)
            .psql("postgres", "SELECT pg_current_wal_lsn()")
            .unwrap();
        wait_until("replica 2 received it", Duration::from_secs(20), || {
            instance(2)
                .psql(
                    "postgres",
                    &format!("SELECT pg_last_wal_receive_lsn() >= '{end}'"),
                )
                .unwrap()
                == "t"
        })
        .await;

        let c = cluster.clone();
        blocking(move || {
            c.instances()[0].stop().unwrap();
            c.instances()[1].promote().unwrap();
        })
        .await;
        wait_until("replica 1 the master", Duration::from_secs(10), || {
            roles(&pool) == [Role::Down, Role::Master, Role::Replica]
        })
        .await;
        tokio::time::sleep(REFRESH_DELAY * 2).await; // replica 2 checked since
        replay(&cluster, 2, "resume").await;
        wait_until(
            "replica 2 replayed the rows",
            Duration::from_secs(20),
            || {
                instance(2)
                    .psql("calendula", "SELECT count(*) FROM fork_t")
                    .unwrap()
                    == "20000"
            },
        )
        .await;
        let mut conn = pool.write().await.unwrap();
        conn.batch_execute("INSERT INTO fork_t VALUES (-1, 'new')")
            .await
            .unwrap();
        drop(conn);
        pool.record_write().await.unwrap();
        let position = |i: usize, lsn: &str| {
            instance(i)
                .psql("postgres", &format!("SELECT {lsn} - '0/0'"))
                .unwrap()
                .parse::<u64>()
                .unwrap()
        };
        assert!(
            position(2, "pg_last_wal_replay_lsn()") > position(1, "pg_current_wal_lsn()"),
            "replica 2 stands past the new master"
        );

        // Several checks of replica 2 later, it still takes no reads.
        tokio::time::sleep(REFRESH_DELAY * 3).await;
        for _ in 0..20 {
            assert_eq!(try_read(&pool).await, Ok(1), "the new master answers");
        }
        assert!(pool.hosts()[2].lagging, "{:?}", pool.hosts()[2]);
        pool.close().await;
    });
}
