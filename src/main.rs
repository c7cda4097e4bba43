//! `calendula`: CLI -> config -> logging -> database -> server.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use calendula::config::{Config, Env};
use calendula::database::Database;
use calendula::server_config;
use calendula::stop::StopSignals;
use calendula_db::{DatabaseConfig, Db};
use clap::{Parser, Subcommand};
use rocket::fairing::AdHoc;

/// Exit code for an invalid configuration.
const EXIT_CONFIG: u8 = 2;

#[derive(Parser)]
#[command(name = "calendula", version, about = "Calendula calendar server")]
struct Cli {
    /// The application config file.
    #[arg(long, global = true, default_value = "config.yaml")]
    config: PathBuf,
    /// Listen address (overrides Rocket.toml).
    #[arg(long, global = true)]
    host: Option<String>,
    /// Listen port (overrides Rocket.toml).
    #[arg(long, global = true)]
    port: Option<u16>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate {
        /// Seconds to wait for a master; then exit 1 saying why each host is unusable.
        #[arg(long, default_value_t = calendula::database::OPEN_TIMEOUT.as_secs())]
        wait: u64,
    },
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
}

#[derive(Subcommand)]
enum ConfigAction {
    /// Validate the config file and Rocket.toml: exit 0 when valid, 2 with one line per
    /// problem otherwise.
    Check,
    /// Print the JSON Schema of the whole config file, modules included.
    Schema,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Config {
        action: ConfigAction::Schema,
    }) = cli.command
    {
        println!(
            "{}",
            serde_json::to_string_pretty(&calendula::config::schema()).expect("schema serializes")
        );
        return ExitCode::SUCCESS;
    }
    let figment = server_config::figment(cli.host, cli.port);
    let (config, server) = match (
        Config::load(&cli.config, &Env::from_process()),
        server_config::check(&figment),
    ) {
        (Ok(config), Ok(server)) => (config, server),
        (loaded, checked) => {
            let problems = [loaded.err(), checked.err()].into_iter().flatten();
            for problem in problems.flatten() {
                eprintln!("{problem}");
            }
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if let Some(Command::Config {
        action: ConfigAction::Check,
    }) = cli.command
    {
        println!("{}: ok", cli.config.display());
        return ExitCode::SUCCESS;
    }
    if let Err(e) = calendula::logging::init(&config.logging) {
        eprintln!("{}: logging.file: {e}", cli.config.display());
        return ExitCode::from(EXIT_CONFIG);
    }
    let migrate_wait = match cli.command {
        Some(Command::Migrate { wait }) => Some(Duration::from_secs(wait)),
        _ => None,
    };
    match rocket::execute(run(config, figment, &server.shutdown, migrate_wait)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!(target: "calendula", "{e}");
            eprintln!("calendula: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(
    config: Config,
    figment: rocket::figment::Figment,
    shutdown: &rocket::config::Shutdown,
    migrate_wait: Option<Duration>,
) -> Result<(), String> {
    let mut stop =
        StopSignals::listen(shutdown).map_err(|e| format!("listening for stop signals: {e}"))?;
    let database = start_database(&config.database, migrate_wait, &mut stop).await?;
    let database = match (database, migrate_wait) {
        (Some(database), None) => database,
        (Some(database), Some(_)) => {
            database.close().await;
            return Ok(());
        }
        (None, None) => return Ok(()),
        (None, Some(_)) => {
            return Err("stopped by a signal before the migrations were applied".into())
        }
    };
    let served = serve(config, database.db.clone(), figment, stop).await;
    database.close().await;
    served
}

/// Starts the database: for `migrate` (`migrate_wait`) until migrated, for serving without
/// waiting for a configured host (/ready and the routes answer 503 until a master is known
/// and migrated). `None` when a stop signal came first; an embedded cluster being started
/// is not abandoned half-way, but stopped once started (for `migrate`, a start that got as
/// far as migrating still counts).
async fn start_database(
    config: &DatabaseConfig,
    migrate_wait: Option<Duration>,
    stop: &mut StopSignals,
) -> Result<Option<Database>, String> {
    let embedded = config.host_addrs().is_empty();
    let config = config.clone();
    let mut starting = tokio::spawn(async move {
        match migrate_wait {
            Some(wait) => Database::open(&config, wait).await,
            None => Database::start(&config).await,
        }
    });
    let joined = |started: Result<Result<Database, String>, tokio::task::JoinError>| {
        started.map_err(|e| format!("start-up failed: {e}"))?
    };
    tokio::select! {
        started = &mut starting => joined(started).map(Some),
        () = stop.wait() => {
            log::info!(target: "calendula", "stop requested during start-up");
            if !embedded {
                starting.abort();
                return Ok(None);
            }
            match joined(starting.await) {
                Ok(database) if migrate_wait.is_some() => Ok(Some(database)),
                Ok(database) => {
                    database.close().await;
                    Ok(None)
                }
                Err(e) => {
                    log::warn!(target: "calendula", "start-up, stopped by a signal: {e}");
                    Ok(None)
                }
            }
        }
    }
}

/// Runs the HTTP server until a stop signal; one that came before Rocket's own listeners
/// were in place is passed on.
async fn serve(
    config: Config,
    db: Db,
    figment: rocket::figment::Figment,
    mut stop: StopSignals,
) -> Result<(), String> {
    let launched = Arc::new(AtomicBool::new(false));
    let on_liftoff = launched.clone();
    let rocket = calendula::build_rocket(config, db, figment)?
        .attach(AdHoc::on_liftoff("stop signals passed on", |_| {
            Box::pin(async move { on_liftoff.store(true, Ordering::Release) })
        }))
        .ignite()
        .await
        .map_err(|e| e.to_string())?;
    let shutdown = rocket.shutdown();
    tokio::spawn(async move {
        stop.wait().await;
        // Once launched, Rocket hears the signal itself: passed on at once, it would find
        // its shutdown begun and warn so. It is passed on a moment later all the same, for
        // a signal that came just before Rocket's listener (installed after lift-off).
        if launched.load(Ordering::Acquire) {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        shutdown.notify();
    });
    rocket.launch().await.map(drop).map_err(|e| e.to_string())
}
