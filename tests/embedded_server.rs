//! The `calendula` binary end to end: started from the shipped config.yaml with no database
//! configured, it runs its own embedded PostgreSQL, serves the API and the docs, shuts down
//! cleanly on SIGTERM, and a second start reuses the data.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use reqwest::StatusCode;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The shipped config, with the embedded database moved into `dir` on a free port.
fn config_in(dir: &Path) -> PathBuf {
    let shipped =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config.yaml")).unwrap();
    let mut config: serde_yaml::Value = serde_yaml::from_str(&shipped).unwrap();
    let embedded = &mut config["database"]["embedded"];
    embedded["dir"] = dir.join("pg").to_string_lossy().into_owned().into();
    embedded["port"] = u64::from(free_port()).into();
    let path = dir.join("config.yaml");
    std::fs::write(&path, serde_yaml::to_string(&config).unwrap()).unwrap();
    path
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(config: &Path, cwd: &Path) -> Server {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_calendula"))
            .args([
                "--config",
                config.to_str().unwrap(),
                "--port",
                &port.to_string(),
                "serve",
            ])
            .current_dir(cwd)
            .env_remove("DB_PASSWORD")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start calendula");
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        server.wait_healthy();
        server
    }

    fn wait_healthy(&self) {
        let client = Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if client
                .get(format!("{}/health", self.base))
                .send()
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("server did not become healthy within 60 s");
    }

    /// SIGTERM, then wait for a clean exit.
    fn terminate(mut self) -> std::process::ExitStatus {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

#[test]
fn serves_from_the_shipped_config_and_keeps_data_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_in(dir.path());
    let client = Client::new();

    let server = Server::start(&config, dir.path());
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
    let created = client
        .post(format!("{}/users/", server.base))
        .json(&serde_json::json!({"login": "persistent", "name": {"first": "P", "last": "Q"}}))
        .send()
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    assert!(server.terminate().success(), "clean exit on SIGTERM");
    let pid_file = dir.path().join("pg/primary/data/postmaster.pid");
    assert!(!pid_file.exists(), "the embedded PostgreSQL was stopped");

    let server = Server::start(&config, dir.path());
    let user = client
        .get(format!("{}/users/persistent", server.base))
        .send()
        .unwrap();
    assert_eq!(user.status(), StatusCode::OK, "data survived the restart");
    assert!(server.terminate().success());
}

#[test]
fn migrate_applies_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_in(dir.path());
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
