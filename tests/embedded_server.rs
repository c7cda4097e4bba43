//! The `calendula` binary end to end: started from the shipped config.yaml with no database
//! configured, it runs its own embedded PostgreSQL, serves the API and the docs, shuts down
//! cleanly on SIGTERM, and a second start reuses the data.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::binary::Binary;
use reqwest::blocking::Client;
use reqwest::StatusCode;

/// The shipped config, with the embedded database moved into `dir` on a free port.
fn config_in(dir: &Path) -> String {
    let shipped =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config.yaml")).unwrap();
    let mut config: serde_yaml::Value = serde_yaml::from_str(&shipped).unwrap();
    let embedded = &mut config["database"]["embedded"];
    embedded["dir"] = dir.join("pg").to_string_lossy().into_owned().into();
    embedded["port"] = u64::from(calendula_pg::free_port().expect("free port")).into();
    serde_yaml::to_string(&config).unwrap()
}

fn create_user(client: &Client, base: &str, login: &str) -> StatusCode {
    client
        .post(format!("{base}/users/"))
        .json(&serde_json::json!({"login": login, "name": {"first": "F", "last": "L"}}))
        .send()
        .unwrap()
        .status()
}

fn get_user(client: &Client, base: &str, login: &str) -> StatusCode {
    client
        .get(format!("{base}/users/{login}"))
        .send()
        .unwrap()
        .status()
}

#[test]
fn serves_from_the_shipped_config_and_keeps_data_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_in(dir.path());
    let client = Client::new();

    let server = Binary::start(dir.path(), &config);
    for (path, kind) in [
        ("/health", "json"),
        ("/ready", "json"),
        ("/openapi.json", "json"),
        ("/docs/index.html", "html"),
    ] {
        let response = client.get(format!("{}{path}", server.base)).send().unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .contains(kind),
            "{path}"
        );
    }
    assert_eq!(
        create_user(&client, &server.base, "persistent"),
        StatusCode::CREATED
    );
    assert!(server.terminate().success(), "clean exit on SIGTERM");
    let pid_file = dir.path().join("pg/primary/data/postmaster.pid");
    assert!(!pid_file.exists(), "the embedded PostgreSQL was stopped");

    let server = Binary::start(dir.path(), &config);
    assert_eq!(
        get_user(&client, &server.base, "persistent"),
        StatusCode::OK,
        "data survived the restart"
    );
    assert!(server.terminate().success());
}

#[test]
fn migrate_applies_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(&config, config_in(dir.path())).unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_calendula"))
        .args(["--config", config.to_str().unwrap(), "migrate"])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    assert!(
        !dir.path().join("pg/primary/data/postmaster.pid").exists(),
        "stopped after migrating"
    );
}

#[test]
fn migrate_without_a_reachable_master_gives_up_after_its_wait_saying_why() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    let port = calendula_pg::free_port().expect("free port");
    std::fs::write(
        &config,
        format!("database:\n  hosts: [\"127.0.0.1:{port}\"]\n  refresh_delay: 200ms\n"),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_calendula"))
        .args([
            "--config",
            config.to_str().unwrap(),
            "migrate",
            "--wait",
            "2",
        ])
        .env_remove("DB_PASSWORD")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "gave up after its wait, not later"
    );
    assert!(
        stderr.contains(&format!(
            "no master reachable within 2s (127.0.0.1:{port} down: error connecting to server: Connection refused"
        )),
        "{stderr}"
    );
}

#[test]
fn a_second_server_with_the_same_embedded_directory_shares_the_first_ones_database() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_in(dir.path());
    let client = Client::new();
    let pid_file = dir.path().join("pg/primary/data/postmaster.pid");

    let owner = Binary::start(dir.path(), &config);
    let postmaster = std::fs::read_to_string(&pid_file).unwrap();
    let guest = Binary::start(dir.path(), &config);
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap(),
        postmaster,
        "the second server left the running PostgreSQL alone"
    );
    assert_eq!(
        create_user(&client, &owner.base, "shared"),
        StatusCode::CREATED
    );
    assert_eq!(
        get_user(&client, &guest.base, "shared"),
        StatusCode::OK,
        "one database behind both"
    );

    assert!(guest.terminate().success());
    assert!(
        pid_file.exists(),
        "stopping the second server kept the database"
    );
    assert_eq!(
        get_user(&client, &owner.base, "shared"),
        StatusCode::OK,
        "the first server still serves"
    );
    assert!(owner.terminate().success());
    assert!(!pid_file.exists(), "the owner stopped it");
}

/// SIGTERM while a request is still being received: it is answered, and only then are the
/// modules stopped (SPEC §1: stop accepting, finish in-flight requests, stop modules).
#[test]
fn sigterm_lets_a_request_in_flight_finish_before_the_modules_stop() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calendula.log");
    let mut config: serde_yaml::Value = serde_yaml::from_str(&config_in(dir.path())).unwrap();
    config["logging"]["file"] = log.to_string_lossy().into_owned().into();
    let server = Binary::start(dir.path(), &serde_yaml::to_string(&config).unwrap());

    let body = br#"{"login": "late", "name": {"first": "L", "last": "T"}}"#;
    let mut stream =
        std::net::TcpStream::connect(server.base.trim_start_matches("http://")).unwrap();
    let head = format!(
        "POST /users/ HTTP/1.1\r\nHost: calendula\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    // More than the 14 bytes Rocket peeks at before it takes the request in.
    stream.write_all(&body[..30]).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    server.send_sigterm();
    std::thread::sleep(std::time::Duration::from_millis(300));
    stream.write_all(&body[30..]).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    assert!(server.wait_exit().success(), "clean exit on SIGTERM");

    let text = std::fs::read_to_string(&log).unwrap();
    let position = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not in the log:\n{text}"))
    };
    let answered = position("POST /users 201");
    for module in ["auth", "notificator"] {
        assert!(
            answered < position(&format!("module {module} stopped")),
            "{module} stopped before the request was answered:\n{text}"
        );
    }
    // One signal, one shutdown: Rocket does not find it begun already.
    position("Received SIGTERM. Requesting shutdown.");
    assert!(!text.contains("already in progress"), "{text}");
}

/// Processes whose command line mentions `dir` (the embedded PostgreSQL servers run with
/// `-D <dir>/...`).
fn processes_under(dir: &Path) -> Vec<String> {
    let needle = dir.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| std::fs::read(entry.ok()?.path().join("cmdline")).ok())
        .map(|cmdline| String::from_utf8_lossy(&cmdline).replace('\0', " "))
        .filter(|cmdline| cmdline.contains(&needle))
        .collect()
}

/// SIGTERM while the embedded PostgreSQL is still starting (its primary up, the replica
/// not yet): the server stops it and exits cleanly, leaving no PostgreSQL behind.
#[test]
fn sigterm_during_start_up_stops_the_embedded_database() {
    let dir = tempfile::tempdir().unwrap();
    let mut config: serde_yaml::Value = serde_yaml::from_str(&config_in(dir.path())).unwrap();
    config["database"]["embedded"]["replicas"] = 1.into();
    let config_file = dir.path().join("config.yaml");
    std::fs::write(&config_file, serde_yaml::to_string(&config).unwrap()).unwrap();
    let port = calendula_pg::free_port().expect("free port");
    let mut child = Command::new(env!("CARGO_BIN_EXE_calendula"))
        .args(["--config", config_file.to_str().unwrap()])
        .args(["--port", &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid_file = dir.path().join("pg/primary/data/postmaster.pid");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !pid_file.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "PostgreSQL never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "no exit after SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", output.status);
    let log = String::from_utf8_lossy(&output.stdout);
    assert!(
        log.contains("stop requested during start-up"),
        "the signal came during start-up: {log}"
    );
    let left = processes_under(dir.path());
    assert!(left.is_empty(), "left running: {left:?}");
}
