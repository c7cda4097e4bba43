//! The multi-host pool seen through the API (issue 3, test 9), against a real primary and
//! streaming replicas: reads keep answering 200 while a replica dies; writes answer 503
//! (with `Retry-After`), never 500, while no master exists, and recover after a promotion
//! without a restart; a server started with every host down starts anyway and becomes
//! ready once a master appears.

mod common;

use std::time::{Duration, Instant};

use calendula_pg::Cluster;
use common::TestServer;
use reqwest::StatusCode;
use serde_json::json;

fn database_yaml(cluster: &Cluster) -> String {
    database_yaml_checked_every(cluster, "200ms")
}

fn database_yaml_checked_every(cluster: &Cluster, refresh_delay: &str) -> String {
    let hosts: Vec<String> = cluster
        .instances()
        .iter()
        .map(|i| format!("\"{}:{}\"", i.host(), i.port()))
        .collect();
    format!(
        "  hosts: [{}]\n  dbname: {}\n  user: {}\n  timeout: 2s\n  refresh_delay: {refresh_delay}\n  \
         refresh_timeout: 1s\n  fallback_master: true\n  master_as_replica_weight: 0\n",
        hosts.join(", "),
        cluster.dbname(),
        cluster.user()
    )
}

fn user(login: &str) -> serde_json::Value {
    json!({"login": login, "name": {"first": login, "last": "Failover"}})
}

/// Polls `f` every 50 ms until it holds; panics naming `what` after `limit`. Returns how
/// long it took.
fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !f() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    started.elapsed()
}

fn metrics(server: &TestServer) -> String {
    server
        .client()
        .get(server.url("/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap()
}

/// The `calendula_db_acquires_total` sample of `instance`.
fn acquires(server: &TestServer, instance: &calendula_pg::Instance) -> u64 {
    let prefix = format!(
        "calendula_db_acquires_total{{host=\"127.0.0.1:{}\"}} ",
        instance.port()
    );
    let metrics = metrics(server);
    let line = metrics.lines().find(|l| l.starts_with(&prefix));
    line.and_then(|l| l[prefix.len()..].parse().ok())
        .unwrap_or_else(|| panic!("{prefix} not in\n{metrics}"))
}

/// A POST answered 503 with `Retry-After` and the JSON error body.
fn assert_unavailable(server: &TestServer, path: &str, body: serde_json::Value) {
    let response = server
        .client()
        .post(server.url(path))
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    let body: serde_json::Value = response.json().unwrap();
    assert_eq!(body["error"], "service unavailable", "{body}");
}

#[test]
fn reads_survive_a_dying_replica_and_writes_answer_503_until_a_promotion() {
    let cluster = Cluster::temporary(2).expect("a primary and two replicas");
    let server = TestServer::with_database_yaml(&database_yaml(&cluster), "");
    wait_until("ready", Duration::from_secs(30), || {
        server.get("/ready").0 == StatusCode::OK
    });
    let (status, body) = server.post("/users", user("ann"));
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Reads go to the replicas (master_as_replica_weight 0): wait for replication.
    wait_until("ann replicated", Duration::from_secs(10), || {
        server.get("/users/ann").0 == StatusCode::OK
    });
    let metrics = metrics(&server);
    for (i, role) in ["master", "replica", "replica"].iter().enumerate() {
        let line = format!(
            "calendula_db_host_role{{host=\"127.0.0.1:{}\",role=\"{role}\"}} 1",
            cluster.instances()[i].port()
        );
        assert!(metrics.contains(&line), "{line} not in\n{metrics}");
    }

    // A replica killed under read load: reads go on.
    let mut statuses = Vec::new();
    for i in 0..200 {
        if i == 50 {
            cluster.instances()[1].kill().unwrap();
        }
        statuses.push(server.get("/users/ann").0);
    }
    let failed: Vec<_> = statuses.iter().filter(|s| **s != StatusCode::OK).collect();
    assert!(failed.len() <= 2, "failed reads: {failed:?}");
    assert!(
        failed
            .iter()
            .all(|s| **s == StatusCode::SERVICE_UNAVAILABLE),
        "a failed read is a 503, never a 500: {failed:?}"
    );
    assert!(statuses[100..].iter().all(|s| *s == StatusCode::OK));

    // No master: writes are 503 within the timeout, reads still 200, not ready.
    cluster.instances()[0].stop().unwrap();
    for login in ["bob", "bob", "bob"] {
        let started = Instant::now();
        assert_unavailable(&server, "/users", user(login));
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{:?}",
            started.elapsed()
        );
    }
    assert_eq!(server.get("/users/ann").0, StatusCode::OK);
    assert_eq!(server.get("/ready").0, StatusCode::SERVICE_UNAVAILABLE);

    // The surviving replica is promoted: writes come back without a restart.
    cluster.instances()[2].promote().unwrap();
    let took = wait_until("writes back", Duration::from_secs(10), || {
        server.post("/users", user("bob")).0 == StatusCode::CREATED
    });
    assert!(
        took < Duration::from_secs(4),
        "writes resumed after {took:?}"
    );
    assert_eq!(server.get("/ready").0, StatusCode::OK);
    wait_until("bob readable", Duration::from_secs(5), || {
        server.get("/users/bob").0 == StatusCode::OK
    });
}

#[test]
fn starts_with_every_host_down_and_serves_once_a_master_appears() {
    let cluster = Cluster::temporary(1).expect("a primary and a replica");
    for instance in cluster.instances().iter().rev() {
        instance.stop().unwrap();
    }
    let started = Instant::now();
    let server = TestServer::with_database_yaml(&database_yaml(&cluster), "");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "start-up waited for the database"
    );
    assert_eq!(server.get("/health").0, StatusCode::OK);
    let (status, body) = server.get("/ready");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_unavailable(&server, "/users", user("cid"));
    assert_eq!(server.get("/users/cid").0, StatusCode::SERVICE_UNAVAILABLE);

    for instance in cluster.instances() {
        instance.start().unwrap();
    }
    wait_until("ready once a master is up", Duration::from_secs(15), || {
        server.get("/ready").0 == StatusCode::OK
    });
    let (status, body) = server.post("/users", user("cid"));
    assert_eq!(status, StatusCode::CREATED, "{body}");
    wait_until("cid readable", Duration::from_secs(10), || {
        server.get("/users/cid").0 == StatusCode::OK
    });
}

#[test]
fn the_embedded_database_uses_every_instance_as_a_host() {
    let dir = tempfile::tempdir().unwrap();
    let port = calendula_pg::free_port().unwrap();
    let yaml = format!(
        "  hosts: []\n  user: calendula\n  dbname: calendula\n  refresh_delay: 200ms\n  \
         embedded: {{dir: \"{}\", port: {port}, replicas: 1}}\n",
        dir.path().join("pg").display()
    );
    let server = TestServer::with_database_yaml(&yaml, "");
    assert_eq!(
        server.get("/ready").0,
        StatusCode::OK,
        "migrated before serving"
    );
    let (status, body) = server.post("/users", user("eve"));
    assert_eq!(status, StatusCode::CREATED, "{body}");
    wait_until("both instances checked", Duration::from_secs(10), || {
        let metrics = metrics(&server);
        metrics.contains(&format!(
            "calendula_db_host_role{{host=\"127.0.0.1:{port}\",role=\"master\"}} 1"
        )) && metrics
            .lines()
            .filter(|l| {
                l.starts_with("calendula_db_host_role{") && l.contains("role=\"replica\"} 1")
            })
            .count()
            == 1
    });
    drop(server);
    assert!(
        !dir.path().join("pg/primary/data/postmaster.pid").exists(),
        "the embedded cluster stopped with the server"
    );
}

/// A replica that has not replayed the migrations would answer "relation does not exist"
/// (a 500): replicas take reads only once they have replayed the master's WAL up to where
/// it stood after migrating. Until then reads fall back to the master.
#[test]
fn a_replica_takes_reads_only_once_it_has_the_migrated_schema() {
    let cluster = Cluster::temporary(1).expect("a primary and a replica");
    let replica = &cluster.instances()[1];
    replica
        .psql("postgres", "SELECT pg_wal_replay_pause()")
        .unwrap();
    let server = TestServer::with_database_yaml(&database_yaml(&cluster), "");
    wait_until("ready", Duration::from_secs(30), || {
        server.get("/ready").0 == StatusCode::OK
    });
    let (status, body) = server.post("/users", user("ann"));
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let replica_reads = acquires(&server, replica);
    for _ in 0..20 {
        let (status, body) = server.get("/users/ann");
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(
        acquires(&server, replica),
        replica_reads,
        "read on the old schema"
    );

    replica
        .psql("postgres", "SELECT pg_wal_replay_resume()")
        .unwrap();
    wait_until("reads on the replica", Duration::from_secs(10), || {
        server.get("/users/ann").0 == StatusCode::OK && acquires(&server, replica) > replica_reads
    });
}

/// SQLSTATE 25006 on a statement that returns rows (`INSERT … RETURNING`): diesel-async
/// reports it from the row stream, where the pool's instrumentation does not see it; the
/// 503 it becomes has the hosts re-checked at once, not at the next 30 s period.
#[test]
fn a_write_refused_as_read_only_has_the_hosts_rechecked_at_once() {
    let cluster = Cluster::temporary(0).expect("a primary");
    let primary = &cluster.instances()[0];
    let server = TestServer::with_database_yaml(
        &database_yaml_checked_every(&cluster, "30s"),
        // Its polls would hit the read-only server too (and be seen by the pool).
        "modules:\n  notificator:\n    enabled: false\n",
    );
    wait_until("ready", Duration::from_secs(30), || {
        server.get("/ready").0 == StatusCode::OK
    });
    let (status, body) = server.post("/users", user("ann"));
    assert_eq!(status, StatusCode::CREATED, "{body}");

    primary
        .psql(
            "postgres",
            "ALTER SYSTEM SET default_transaction_read_only = on; SELECT pg_reload_conf()",
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_unavailable(&server, "/users", user("bob"));
    let replica_role = format!(
        "calendula_db_host_role{{host=\"127.0.0.1:{}\",role=\"replica\"}} 1",
        primary.port()
    );
    wait_until("the role re-checked", Duration::from_secs(3), || {
        metrics(&server).contains(&replica_role)
    });
}

/// Read your writes: a read right after a write sees it, also when the replica that would
/// serve it has not replayed it yet (the read waits a moment, then the master answers).
#[test]
fn a_read_right_after_a_write_sees_it_though_the_replica_lags() {
    let cluster = Cluster::temporary(1).expect("a primary and a replica");
    let replica = &cluster.instances()[1];
    let server = TestServer::with_database_yaml(&database_yaml(&cluster), "");
    let replica_reads = format!(
        "calendula_db_replica_lagging{{host=\"127.0.0.1:{}\"}} 0",
        replica.port()
    );
    let replica_takes_reads =
        || server.get("/ready").0 == StatusCode::OK && metrics(&server).contains(&replica_reads);
    wait_until(
        "the replica takes reads",
        Duration::from_secs(30),
        replica_takes_reads,
    );

    replica
        .psql("postgres", "SELECT pg_wal_replay_pause()")
        .unwrap();
    for login in ["ann", "bob", "cid"] {
        let (status, body) = server.post("/users", user(login));
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, body) = server.get(&format!("/users/{login}"));
        assert_eq!(
            status,
            StatusCode::OK,
            "{login} right after its creation: {body}"
        );
    }

    replica
        .psql("postgres", "SELECT pg_wal_replay_resume()")
        .unwrap();
    // Until a check has seen it replay again, the replica counts as far behind (the lag a
    // check measured during the pause) and is not waited for.
    let caught_up = format!(
        "calendula_db_replica_lag_seconds{{host=\"127.0.0.1:{}\"}} 0\n",
        replica.port()
    );
    wait_until("the replica has caught up", Duration::from_secs(30), || {
        metrics(&server).contains(&caught_up)
    });
    let (status, body) = server.post("/users", user("dan"));
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let master = &cluster.instances()[0];
    let master_acquires = acquires(&server, master);
    for _ in 0..5 {
        assert_eq!(server.get("/users/dan").0, StatusCode::OK);
    }
    assert_eq!(
        acquires(&server, master),
        master_acquires,
        "a replica that caught up serves the reads, not the master"
    );
}

/// Started while two hosts answer as master (a replica promoted beside its primary): no
/// single master, so nothing is migrated and the server is not ready (migrating one of the
/// two would leave the other's replicas without the schema); once one is gone, it is.
#[test]
fn with_two_masters_nothing_is_migrated_until_one_is_gone() {
    let cluster = Cluster::temporary(1).expect("a primary and a replica");
    cluster.instances()[1].promote().unwrap();
    let server = TestServer::with_database_yaml(&database_yaml(&cluster), "");
    std::thread::sleep(Duration::from_secs(2));
    let (status, body) = server.get("/ready");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(server.get("/users/ann").0, StatusCode::SERVICE_UNAVAILABLE);

    cluster.instances()[0].stop().unwrap();
    wait_until("ready with one master", Duration::from_secs(15), || {
        server.get("/ready").0 == StatusCode::OK
    });
    let (status, body) = server.post("/users", user("ann"));
    assert_eq!(status, StatusCode::CREATED, "{body}");
}
