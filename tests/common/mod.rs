//! Test support: one real PostgreSQL per test binary (started by the project's launcher),
//! a fresh database per test cloned from a migrated template, and the real server listening
//! on a free loopback port, driven over HTTP.

#![allow(dead_code)]

pub mod binary;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::thread::JoinHandle;

use calendula::config::{Config, Env};
use calendula::database::Database;
use calendula_pg::Cluster;
use reqwest::blocking::{Client, Response};
use reqwest::StatusCode;
use serde_json::Value;

const TEMPLATE_DB: &str = "calendula_template";

struct Shared {
    cluster: Cluster,
}

static SHARED: OnceLock<Shared> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

fn shared() -> &'static Shared {
    SHARED.get_or_init(|| {
        let cluster = Cluster::temporary(0).expect("start PostgreSQL for tests");
        cluster
            .reap_when_process_exits()
            .expect("arrange cleanup of the test PostgreSQL");
        let primary = cluster.primary();
        primary
            .psql("postgres", &format!("CREATE DATABASE {TEMPLATE_DB}"))
            .expect("create template database");
        let yaml = database_yaml(primary.port(), TEMPLATE_DB);
        let config =
            Config::parse(&yaml, "test.yaml".as_ref(), &Env::default()).expect("test config");
        runtime().block_on(async {
            Database::open(&config.database, calendula::database::OPEN_TIMEOUT)
                .await
                .expect("migrate template database");
        });
        Shared { cluster }
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn database_yaml(port: u16, dbname: &str) -> String {
    format!("database:\n  hosts: [\"127.0.0.1:{port}\"]\n  dbname: {dbname}\n  user: calendula\n  timeout: 5s\n")
}

/// Runs SQL against test database `dbname` on the shared primary; psql's unaligned output.
pub fn psql(dbname: &str, sql: &str) -> String {
    cluster().primary().psql(dbname, sql).expect("psql")
}

/// A new, migrated, empty database; returns its name.
pub fn fresh_database() -> String {
    let shared = shared();
    let name = format!(
        "test_{}_{}",
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::SeqCst)
    );
    shared
        .cluster
        .primary()
        .psql(
            "postgres",
            &format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}"),
        )
        .expect("create test database");
    name
}

pub fn cluster() -> &'static Cluster {
    &shared().cluster
}

/// How the test server brings up its database side.
#[derive(Clone, Copy)]
enum Startup {
    /// `Database::open`: migrations have run before the server listens.
    WaitForMigrations,
    /// `Database::start`, as `calendula serve`: the server listens at once.
    AsServe,
}

/// The real server on a free port, over a fresh database.
pub struct TestServer {
    pub base: String,
    pub dbname: String,
    client: Client,
    shutdown: Option<rocket::Shutdown>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    pub fn start() -> Self {
        Self::with_yaml("")
    }

    /// `extra` is appended to the generated config (e.g. a `modules:` or `limits:` section).
    pub fn with_yaml(extra: &str) -> Self {
        Self::with_yaml_in(&fresh_database(), extra)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn get(&self, path: &str) -> (StatusCode, Value) {
        into_json(self.client.get(self.url(path)).send().expect("GET"))
    }

    pub fn delete(&self, path: &str) -> (StatusCode, Value) {
        into_json(self.client.delete(self.url(path)).send().expect("DELETE"))
    }

    pub fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        into_json(
            self.client
                .post(self.url(path))
                .json(&body)
                .send()
                .expect("POST"),
        )
    }

    pub fn post_raw(&self, path: &str, body: impl AsRef<[u8]>) -> (StatusCode, Value) {
        let request = self
            .client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body.as_ref().to_vec());
        into_json(request.send().expect("POST"))
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Runs SQL against this server's database (for assertions on what was stored).
    pub fn sql(&self, sql: &str) -> String {
        psql(&self.dbname, sql)
    }

    /// Creates a user with sensible defaults overridden by `extra` fields.
    pub fn user(&self, login: &str, extra: Value) -> Value {
        let mut body =
            serde_json::json!({"login": login, "name": {"first": login, "last": "Test"}});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        let (status, user) = self.post("/users", body);
        assert_eq!(status, StatusCode::CREATED, "create user {login}: {user}");
        user
    }

    /// Creates an event, asserting success.
    pub fn event(&self, body: Value) -> Value {
        let (status, event) = self.post("/event", body);
        assert_eq!(status, StatusCode::CREATED, "create event: {event}");
        event
    }
}

impl TestServer {
    /// A request to `path`, to complete (headers, body) and pass to [`send`].
    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
    ) -> reqwest::blocking::RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// A plain-SQL dump (schema and data) of this server's database, by `pg_dump`.
    pub fn dump(&self) -> String {
        let cluster = cluster();
        let mut command = std::process::Command::new(cluster.binaries().program("pg_dump"));
        command
            .args(["--no-owner", "--host", "127.0.0.1", "--port"])
            .arg(cluster.primary().port().to_string())
            .args(["--username", cluster.user(), "--dbname", &self.dbname])
            .env("PGPASSFILE", "/dev/null");
        if let Some(password) = cluster.password() {
            command.env("PGPASSWORD", password);
        }
        let output = command.output().expect("run pg_dump");
        assert!(
            output.status.success(),
            "pg_dump failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("pg_dump output is UTF-8")
    }
}

/// Sends a request built with [`TestServer::request`]: its status and JSON body (a body that
/// is not JSON comes back as a JSON string; an empty one as `""`).
pub fn send(request: reqwest::blocking::RequestBuilder) -> (StatusCode, Value) {
    into_json(request.send().expect("send request"))
}

fn into_json(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().expect("response body");
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            shutdown.notify();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl TestServer {
    /// The real server with its own `database:` section (`database` is that section's
    /// body, indented by two spaces: hosts, dbname, timings...) instead of the shared
    /// test database, plus `extra` sections. Started the way `calendula serve` starts
    /// (`Database::start`): it does not wait for the database, so poll `/ready`.
    pub fn with_database_yaml(database: &str, extra: &str) -> Self {
        Self::launch(&format!("database:\n{database}{extra}"), Startup::AsServe)
    }
}

/// The `database:` section that reaches database `dbname` of the shared test cluster (for a
/// config file given to the real binary).
pub fn database_yaml_for(dbname: &str) -> String {
    database_yaml(shared().cluster.primary().port(), dbname)
}

impl TestServer {
    /// Another server over an existing database (e.g. a second instance beside a running
    /// one, or a restart after one was stopped); `extra` as in [`TestServer::with_yaml`].
    pub fn with_yaml_in(dbname: &str, extra: &str) -> Self {
        let yaml = format!("{}{extra}", database_yaml_for(dbname));
        Self::launch(&yaml, Startup::WaitForMigrations)
    }

    /// Parses `yaml`, starts the server on a free port in a thread of its own, and waits
    /// until it listens.
    fn launch(yaml: &str, startup: Startup) -> Self {
        let config =
            Config::parse(yaml, "test.yaml".as_ref(), &Env::default()).expect("valid test config");
        let dbname = config.database.dbname.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            runtime().block_on(async move {
                let database = match startup {
                    Startup::WaitForMigrations => {
                        Database::open(&config.database, calendula::database::OPEN_TIMEOUT).await
                    }
                    Startup::AsServe => Database::start(&config.database).await,
                }
                .expect("start the database side");
                let figment = rocket::Config::figment()
                    .merge(("port", 0))
                    .merge(("address", "127.0.0.1"))
                    .merge(("log_level", "off"))
                    .merge(("shutdown.ctrlc", false))
                    .merge(("shutdown.grace", 1))
                    .merge(("shutdown.mercy", 1));
                let rocket = calendula::build_rocket(config, database.db.clone(), figment)
                    .expect("build server");
                let rocket = rocket
                    .attach(rocket::fairing::AdHoc::on_liftoff("test port", move |r| {
                        let _ = ready_tx.send((r.config().port, r.shutdown()));
                        Box::pin(async {})
                    }))
                    .launch()
                    .await;
                rocket.expect("server runs");
                database.close().await;
            });
        });
        let (port, shutdown) = ready_rx.recv().expect("server started");
        Self {
            base: format!("http://127.0.0.1:{port}"),
            dbname,
            client: Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .expect("http client"),
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }
}
