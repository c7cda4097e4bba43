//! `calendula`: CLI -> config -> logging -> database -> server.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use calendula::config::{Config, Env};
use calendula::database::Database;
use calendula::server_config;
use clap::{Parser, Subcommand};

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
    let config = match (
        Config::load(&cli.config, &Env::from_process()),
        server_config::check(&figment),
    ) {
        (Ok(config), Ok(_)) => config,
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
    match rocket::execute(run(config, figment, migrate_wait)) {
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
    migrate_wait: Option<Duration>,
) -> Result<(), String> {
    if let Some(wait) = migrate_wait {
        Database::open(&config.database, wait).await?.close().await;
        return Ok(());
    }
    // Serving does not wait for the database: /ready and the routes answer 503 until a
    // master is known and migrated.
    let database = Database::start(&config.database).await?;
    let db = database.db.clone();
    let served = match calendula::build_rocket(config, db, figment) {
        Ok(rocket) => rocket.launch().await.map(drop).map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    database.close().await;
    served
}
