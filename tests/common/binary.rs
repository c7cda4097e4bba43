//! The real `calendula` binary as a child process: started with a config file written to
//! a directory, waited for until ready, and stopped with SIGTERM or SIGKILL.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The real `calendula` binary, with its config file written to `dir`.
pub struct Binary {
    child: Child,
    pub base: String,
}

impl Binary {
    pub fn start(dir: &Path, config_yaml: &str) -> Binary {
        let config = dir.join("config.yaml");
        std::fs::write(&config, config_yaml).expect("write config");
        let port = calendula_pg::free_port().expect("free port");
        let child = Command::new(env!("CARGO_BIN_EXE_calendula"))
            .args([
                "--config",
                config.to_str().unwrap(),
                "--port",
                &port.to_string(),
                "serve",
            ])
            .current_dir(dir)
            .env_remove("DB_PASSWORD")
            .env_remove("DEV_MODE")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start calendula");
        let mut binary = Binary {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        binary.wait_ready();
        binary
    }

    /// Until `/ready`: `/health` answers before the pool has found the master, and a first
    /// write then is a 503.
    fn wait_ready(&mut self) {
        let client = reqwest::blocking::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("calendula exited: {status}");
            }
            if client
                .get(format!("{}/ready", self.base))
                .send()
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("calendula did not become ready within 60 s");
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill_hard(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }

    /// SIGTERM, without waiting for the exit.
    pub fn send_sigterm(&self) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
    }

    /// SIGTERM, then wait for the exit.
    pub fn terminate(self) -> std::process::ExitStatus {
        self.send_sigterm();
        self.wait_exit()
    }

    /// Waits (at most 30 s) for the process to exit.
    pub fn wait_exit(mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "calendula did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
