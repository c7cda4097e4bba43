//! `calendula-load`: seeds a Calendula server with users and events, then drives C
//! concurrent clients for D seconds per scenario and reports throughput, latency
//! percentiles and errors (human summary on stdout, JSON with `--json`), plus the same
//! get-by-id query issued straight through diesel-async as a database baseline, and the
//! server's peak RSS when the harness started the server itself.
//!
//!     cargo run --release --bin calendula-load -- --clients 16 --duration 10
//!     cargo run --release --bin calendula-load -- --smoke      # a few seconds, for CI

mod scenarios;
mod seed;
mod server;
mod stats;

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

#[derive(Parser, Debug, Clone)]
#[command(name = "calendula-load", about = "Load harness for Calendula")]
pub struct Args {
    /// A running server to drive; without it the harness starts `calendula` (next to this
    /// binary) on a temporary embedded database and also measures the database baseline.
    #[arg(long)]
    pub server: Option<String>,
    /// Seeded users.
    #[arg(long, default_value_t = 200)]
    pub users: usize,
    /// Events per seeded user (70 % one-off over ten years, 30 % recurring of every type).
    #[arg(long, default_value_t = 20)]
    pub events_per_user: usize,
    /// Events of the one "heavy" user whose month listing is measured separately.
    #[arg(long, default_value_t = 10_000)]
    pub heavy_events: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Seconds per scenario.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Only these scenarios (comma-separated names); default all.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Write the results as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// A tiny run (few users and events, 1 s per scenario) that checks the harness works.
    #[arg(long)]
    pub smoke: bool,
}

impl Args {
    fn effective(mut self) -> Self {
        if self.smoke {
            self.users = self.users.min(60);
            self.events_per_user = self.events_per_user.min(3);
            self.heavy_events = self.heavy_events.min(100);
            self.clients = self.clients.min(4);
            self.duration = 1;
        }
        self
    }

    pub fn per_scenario(&self) -> Duration {
        Duration::from_secs(self.duration)
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse().effective();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("calendula-load: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let managed = match &args.server {
        Some(_) => None,
        None => Some(server::ManagedServer::start().await?),
    };
    let base = args
        .server
        .clone()
        .or_else(|| managed.as_ref().map(|m| m.base.clone()))
        .unwrap_or_default();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients * 2)
        .build()
        .map_err(|e| e.to_string())?;
    eprintln!(
        "seeding {} users x {} events (+{} for the heavy user) at {base}",
        args.users, args.events_per_user, args.heavy_events
    );
    let world = std::sync::Arc::new(seed::seed(&client, &base, &args).await?);
    if let Some(managed) = &managed {
        managed.settle().await?;
    }
    let mut results = Vec::new();
    for scenario in scenarios::all(&world, &args) {
        if !args.only.is_empty() && !args.only.iter().any(|o| o == scenario.name) {
            continue;
        }
        results.push(scenarios::drive(&client, &base, &scenario, &world, &args).await);
    }
    if let Some(managed) = &managed {
        if args.only.is_empty() || args.only.iter().any(|o| o == "db_get_event") {
            results.push(scenarios::drive_database(managed, &world, &args).await?);
        }
    }
    let peak_rss_kib = managed.as_ref().and_then(|m| m.peak_rss_kib());
    let report = stats::Report {
        clients: args.clients,
        seconds_per_scenario: args.duration,
        peak_server_rss_kib: peak_rss_kib,
        results,
    };
    println!("{}", report.summary());
    if let Some(path) = &args.json {
        std::fs::write(
            path,
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
    }
    if let Some(managed) = managed {
        managed.stop().await;
    }
    if report.results.iter().any(|r| r.ok == 0) {
        return Err("a scenario had no successful request".into());
    }
    Ok(())
}
