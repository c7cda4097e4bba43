//! The server under test when no `--server` is given: the `calendula` binary next to this
//! one, on a temporary embedded database, with its logs discarded.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

pub struct ManagedServer {
    pub base: String,
    pub database_url: String,
    child: Child,
    _dir: TempDir,
}

/// A directory removed on drop (std only, to keep the harness' dependencies small).
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

impl ManagedServer {
    /// `VACUUM ANALYZE` after seeding, as after any bulk load. Without it, whether
    /// autovacuum has got round to the new rows decides whether index-only scans visit the
    /// table, and runs of the same command differ by that.
    pub async fn settle(&self) -> Result<(), String> {
        use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
        let mut conn = AsyncPgConnection::establish(&self.database_url)
            .await
            .map_err(|e| format!("settle: {e}"))?;
        conn.batch_execute("VACUUM ANALYZE")
            .await
            .map_err(|e| format!("settle: {e}"))
    }

    pub async fn start() -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let binary = exe.with_file_name("calendula");
        if !binary.exists() {
            return Err(format!(
                "{} not found; build it first (cargo build --release)",
                binary.display()
            ));
        }
        let dir = std::env::temp_dir().join(format!("calendula-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let dir = TempDir(dir);
        let (http_port, db_port) = (free_port()?, free_port()?);
        let config = format!(
            "database:\n  max_size: 32\n  embedded: {{dir: {}, port: {db_port}}}\nlogging:\n  level: info\n",
            dir.0.join("pg").display()
        );
        let config_path = dir.0.join("config.yaml");
        std::fs::write(&config_path, config).map_err(|e| e.to_string())?;
        let child = Command::new(&binary)
            .args([
                "--config",
                &config_path.to_string_lossy(),
                "--port",
                &http_port.to_string(),
                "serve",
            ])
            .current_dir(&dir.0)
            .env("ROCKET_WORKERS", "16")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", binary.display()))?;
        let server = Self {
            base: format!("http://127.0.0.1:{http_port}"),
            database_url: format!("postgres://calendar_admin@127.0.0.1:{db_port}/calendar_db"),
            child,
            _dir: dir,
        };
        server.wait_ready().await?;
        Ok(server)
    }

    async fn wait_ready(&self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(90);
        while Instant::now() < deadline {
            if reqwest::get(format!("{}/ready", self.base))
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Err("the server did not become ready within 90 s".into())
    }

    /// The server's peak resident set size so far (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()?)).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// SIGTERM (so the embedded PostgreSQL is stopped cleanly), then wait.
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await;
    }
}
