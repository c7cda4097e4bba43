//! Real PostgreSQL clusters: start, replicate, reuse, passwords, crashes and failover.
//! Tests run in parallel threads; each uses its own directory and free ports.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use calendula_pg::{process_alive, Cluster, ClusterOptions, Instance, LaunchError, PgBinaries};

/// Polls `sql` on `inst` until it prints `expected` (10 s at most).
fn eventually(inst: &Instance, db: &str, sql: &str, expected: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = inst.psql(db, sql);
        if matches!(&got, Ok(s) if s == expected) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{}: {sql} gave {got:?}, expected {expected:?}",
            inst.name()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A world-searchable scratch directory inside the workspace's target dir (a root-owned,
/// non-/tmp path like the server's `var/postgres`).
fn workspace_scratch() -> tempfile::TempDir {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn opts(dir: PathBuf, replicas: usize) -> ClusterOptions {
    ClusterOptions {
        replicas,
        ..ClusterOptions::new(dir)
    }
}

#[test]
fn temporary_primary_and_replica_replicate_and_tear_down() {
    let t0 = Instant::now();
    let cluster = Cluster::temporary(1).unwrap();
    eprintln!("temporary(1) up in {:.2}s", t0.elapsed().as_secs_f64());
    let primary = cluster.primary();
    let replica = &cluster.replicas()[0];
    assert_eq!(cluster.replicas().len(), 1);
    assert!(!primary.is_in_recovery().unwrap());
    assert!(replica.is_in_recovery().unwrap());
    assert_ne!(primary.port(), replica.port());
    assert_eq!(primary.host(), "127.0.0.1");
    assert_eq!(
        cluster.url(0),
        format!(
            "postgres://calendula@127.0.0.1:{}/calendula",
            primary.port()
        )
    );
    // psql: several statements, several columns.
    let out = primary
        .psql(
            "calendula",
            "CREATE TABLE t (id int PRIMARY KEY, note text); INSERT INTO t VALUES (1, 'hello'); SELECT id, note FROM t",
        )
        .unwrap();
    assert_eq!(out, "1|hello");
    eventually(
        replica,
        "calendula",
        "SELECT note FROM t WHERE id = 1",
        "hello",
    );
    // A standby refuses writes.
    let err = replica
        .psql("calendula", "INSERT INTO t VALUES (2, 'no')")
        .unwrap_err();
    assert!(err.to_string().contains("read-only"), "{err}");
    // Over TCP as a client would connect.
    assert_eq!(
        replica
            .psql_tcp("calendula", None, "calendula", "SELECT count(*) FROM t")
            .unwrap(),
        "1"
    );
    cluster.wait_for_replicas(Duration::from_secs(10)).unwrap();

    let pids: Vec<u32> = cluster
        .instances()
        .iter()
        .map(|i| i.pid().unwrap())
        .collect();
    let dir = cluster.dir().to_path_buf();
    assert!(dir.join("primary/data/PG_VERSION").is_file());
    assert!(dir.join("replica-1/data/standby.signal").is_file());
    assert!(dir.join("primary/postgres.log").is_file());
    drop(cluster);
    for pid in pids {
        assert!(!process_alive(pid), "postmaster {pid} survived the drop");
    }
    assert!(!dir.exists(), "{} survived the drop", dir.display());
}

#[test]
fn startup_timings() {
    for replicas in [0, 2] {
        let t0 = Instant::now();
        let cluster = Cluster::temporary(replicas).unwrap();
        eprintln!(
            "temporary({replicas}) up in {:.2}s",
            t0.elapsed().as_secs_f64()
        );
        assert_eq!(cluster.replicas().len(), replicas);
        for r in cluster.replicas() {
            assert!(r.is_in_recovery().unwrap());
        }
        let t1 = Instant::now();
        drop(cluster);
        eprintln!(
            "temporary({replicas}) dropped in {:.2}s",
            t1.elapsed().as_secs_f64()
        );
    }
}

/// Start, write, stop; start again on the same directory: data (and the replica) kept.
fn reuse_keeps_data(dir: &Path) {
    let mut cluster = Cluster::start(opts(dir.to_path_buf(), 1)).unwrap();
    let p = cluster.primary();
    p.psql(
        "calendula",
        "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')",
    )
    .unwrap();
    let first_port = p.port();
    cluster.stop().unwrap();
    cluster.stop().unwrap(); // idempotent
    assert!(!cluster.primary().is_running());
    drop(cluster);
    assert!(
        dir.join("primary/data/PG_VERSION").is_file(),
        "data must be kept"
    );

    let cluster = Cluster::start(ClusterOptions {
        port: Some(first_port), // the server's fixed-port case
        ..opts(dir.to_path_buf(), 1)
    })
    .unwrap();
    assert_eq!(cluster.primary().port(), first_port);
    assert_eq!(
        cluster
            .primary()
            .psql("calendula", "SELECT v FROM kept")
            .unwrap(),
        "still here"
    );
    eventually(
        &cluster.replicas()[0],
        "calendula",
        "SELECT v FROM kept",
        "still here",
    );
    drop(cluster); // keep_on_drop: clean stop
    assert!(dir.join("primary/data/PG_VERSION").is_file());
    assert!(
        !dir.join("primary/data/postmaster.pid").exists(),
        "clean stop removes the pid file"
    );
}

#[test]
fn reuse_under_tmp() {
    // A private (0700) temp dir given as the cluster dir itself: when we run as root it
    // is handed to the postgres OS user (it is empty, so clearly ours to take).
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    reuse_keeps_data(tmp.path());
}

#[test]
fn reuse_under_workspace_path() {
    // Like the server's var/postgres: nested directories created on demand.
    let scratch = workspace_scratch();
    reuse_keeps_data(&scratch.path().join("var/postgres"));
}

#[test]
fn leftover_server_of_a_dead_run_is_stopped_and_data_reused() {
    let scratch = workspace_scratch();
    let dir = scratch.path().join("pg");
    let cluster = Cluster::start(opts(dir.clone(), 0)).unwrap();
    cluster
        .primary()
        .psql(
            "calendula",
            "CREATE TABLE x (v int); INSERT INTO x VALUES (42)",
        )
        .unwrap();
    let old_pid = cluster.primary().pid().unwrap();
    // Simulate a crash of the owning process: nobody stops the server.
    std::mem::forget(cluster);
    assert!(process_alive(old_pid));

    let cluster = Cluster::start(opts(dir.clone(), 0)).unwrap();
    assert!(
        !process_alive(old_pid),
        "the leftover server must have been stopped"
    );
    assert_eq!(
        cluster
            .primary()
            .psql("calendula", "SELECT v FROM x")
            .unwrap(),
        "42"
    );
}

#[test]
fn password_mode() {
    let tmp = tempfile::tempdir().unwrap();
    let password = "s3cr'et pw@:/";
    let cluster = Cluster::start(ClusterOptions {
        password: Some(password.into()),
        keep_on_drop: false,
        ..opts(tmp.path().to_path_buf(), 1)
    })
    .unwrap();
    let url = cluster.url(0);
    assert!(
        url.starts_with("postgres://calendula:s3cr%27et%20pw%40%3A%2F@127.0.0.1:"),
        "{url}"
    );
    for inst in cluster.instances() {
        assert_eq!(
            inst.psql_tcp(
                "calendula",
                Some(password),
                "calendula",
                "SELECT current_user"
            )
            .unwrap(),
            "calendula"
        );
        let wrong = inst
            .psql_tcp("calendula", Some("wrong"), "calendula", "SELECT 1")
            .unwrap_err()
            .to_string();
        assert!(wrong.contains("password authentication failed"), "{wrong}");
        assert!(inst
            .psql_tcp("calendula", None, "calendula", "SELECT 1")
            .is_err());
    }
    // Replication works in password mode (it uses the private unix socket).
    cluster
        .primary()
        .psql(
            "calendula",
            "CREATE TABLE p (v int); INSERT INTO p VALUES (7)",
        )
        .unwrap();
    eventually(&cluster.replicas()[0], "calendula", "SELECT v FROM p", "7");
    let dir = cluster.dir().to_path_buf();
    drop(cluster);
    assert!(
        !dir.join("primary").exists(),
        "keep_on_drop=false removes the instances"
    );
}

#[test]
fn password_is_updated_on_reuse() {
    let tmp = tempfile::tempdir().unwrap();
    let start = |pw: &str| {
        Cluster::start(ClusterOptions {
            password: Some(pw.into()),
            ..opts(tmp.path().to_path_buf(), 0)
        })
        .unwrap()
    };
    drop(start("first"));
    let cluster = start("second");
    let p = cluster.primary();
    assert!(p
        .psql_tcp("calendula", Some("first"), "calendula", "SELECT 1")
        .is_err());
    assert_eq!(
        p.psql_tcp("calendula", Some("second"), "calendula", "SELECT 1")
            .unwrap(),
        "1"
    );
}

#[test]
fn kill_restart_promote_follow_and_rebuild_old_primary() {
    let mut cluster = Cluster::temporary(2).unwrap();
    let db = "calendula";
    cluster
        .primary()
        .psql(db, "CREATE TABLE f (v int); INSERT INTO f VALUES (1)")
        .unwrap();

    // Crash and restart the primary: same port, data kept (crash recovery).
    let port = cluster.primary().port();
    let pid = cluster.primary().pid().unwrap();
    cluster.primary().kill().unwrap();
    assert!(!process_alive(pid));
    assert!(!cluster.primary().is_running());
    assert!(cluster.primary().psql(db, "SELECT 1").is_err());
    cluster.primary().start().unwrap();
    assert_eq!(cluster.primary().port(), port);
    assert_eq!(
        cluster
            .primary()
            .psql(db, "SELECT count(*) FROM f")
            .unwrap(),
        "1"
    );
    // The replicas reconnect to the restarted primary.
    cluster
        .primary()
        .psql(db, "INSERT INTO f VALUES (2)")
        .unwrap();
    for r in cluster.replicas() {
        eventually(r, db, "SELECT count(*) FROM f", "2");
    }

    // Kill a replica and bring it back too.
    cluster.replicas()[0].kill().unwrap();
    cluster
        .primary()
        .psql(db, "INSERT INTO f VALUES (3)")
        .unwrap();
    cluster.replicas()[0].start().unwrap();
    eventually(&cluster.replicas()[0], db, "SELECT count(*) FROM f", "3");
    cluster.wait_for_replicas(Duration::from_secs(10)).unwrap();

    // Failover: the primary dies, replica-1 is promoted and takes writes; replica-2
    // follows it.
    cluster.primary().kill().unwrap();
    let t0 = Instant::now();
    cluster.replicas()[0].promote().unwrap();
    eprintln!("promote took {:.2}s", t0.elapsed().as_secs_f64());
    assert!(!cluster.replicas()[0].is_in_recovery().unwrap());
    cluster.replicas()[0]
        .psql(db, "INSERT INTO f VALUES (4)")
        .unwrap();
    cluster.follow(2, 1).unwrap();
    eventually(&cluster.replicas()[1], db, "SELECT max(v) FROM f", "4");
    assert!(cluster.replicas()[1].is_in_recovery().unwrap());

    // The old primary comes back as a standby of the promoted one.
    let t0 = Instant::now();
    cluster.rebuild_as_standby(0, 1).unwrap();
    eprintln!("rebuild_as_standby took {:.2}s", t0.elapsed().as_secs_f64());
    let old = cluster.primary();
    assert_eq!(old.port(), port, "a rebuilt instance keeps its port");
    assert!(old.is_in_recovery().unwrap());
    assert_eq!(old.psql(db, "SELECT count(*) FROM f").unwrap(), "4");
    cluster.replicas()[0]
        .psql(db, "INSERT INTO f VALUES (5)")
        .unwrap();
    eventually(old, db, "SELECT max(v) FROM f", "5");
    eventually(&cluster.replicas()[1], db, "SELECT max(v) FROM f", "5");
    let err = old.psql(db, "INSERT INTO f VALUES (6)").unwrap_err();
    assert!(err.to_string().contains("read-only"), "{err}");
    cluster.wait_for_replicas(Duration::from_secs(10)).unwrap();

    assert!(matches!(
        cluster.rebuild_as_standby(1, 1),
        Err(LaunchError::Setup(_))
    ));
    assert!(
        matches!(cluster.follow(1, 0), Err(LaunchError::Setup(_))),
        "a primary cannot follow"
    );
}

#[test]
fn stop_and_start_single_instances() {
    let cluster = Cluster::temporary(1).unwrap();
    let replica = &cluster.replicas()[0];
    replica.stop().unwrap();
    replica.stop().unwrap();
    assert!(replica.psql("calendula", "SELECT 1").is_err());
    replica.start().unwrap();
    replica.start().unwrap(); // no-op while running
    assert!(replica.is_in_recovery().unwrap());
}

#[test]
fn fixed_port_in_use_is_a_clear_error() {
    let blocker = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = blocker.local_addr().unwrap().port();
    let tmp = tempfile::tempdir().unwrap();
    let err = Cluster::start(ClusterOptions {
        port: Some(port),
        keep_on_drop: false,
        ..opts(tmp.path().to_path_buf(), 0)
    })
    .unwrap_err();
    assert!(
        matches!(err, LaunchError::PortInUse { port: p, .. } if p == port),
        "{err}"
    );
    assert!(err.to_string().contains(&port.to_string()));
}

#[test]
fn missing_binaries_say_what_to_do() {
    let empty = tempfile::tempdir().unwrap();
    let err = PgBinaries::from_bindir(empty.path()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("apt-get install postgresql"), "{msg}");
    assert!(msg.contains("PG_BINDIR"), "{msg}");
    assert!(msg.contains("database.hosts"), "{msg}");
}

#[test]
fn unreachable_directory_is_a_clear_error_when_root() {
    if !is_root() {
        return;
    }
    // A root-only 0700 parent: the postgres user cannot get in.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let err = Cluster::start(opts(tmp.path().join("pg"), 0)).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, LaunchError::NotAccessible(_)), "{msg}");
    assert!(
        msg.contains("postgres") && msg.contains("searchable"),
        "{msg}"
    );
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}
