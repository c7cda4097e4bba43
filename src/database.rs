//! Where the database comes from: the configured hosts, or, when none are configured, the
//! embedded PostgreSQL (a primary and `embedded.replicas` streaming replicas, all of them
//! hosts of the pool) started from the machine's binaries with data kept in
//! `database.embedded.dir`. Migrations run as soon as a master is known.
//!
//! One server owns an embedded cluster: it holds an exclusive lock on `<dir>.lock` while the
//! cluster runs and writes the cluster's hosts into it. A second server (or `calendula
//! migrate`) started with the same directory finds the lock taken and uses that cluster as
//! it is, without starting or stopping it; it becomes the owner only once the first one is
//! gone. (Taking over a running cluster would stop it under the first server.)

use std::fs::{File, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use calendula_db::{migrations, DatabaseConfig, Db, HostAddr};
use calendula_pg::{Cluster, ClusterOptions, LaunchError};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long starting waits for the embedded cluster and its migrations, and the default
/// wait of [`Database::open`] (`calendula migrate --wait`).
pub const OPEN_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest pause between two migration attempts that failed.
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(30);

/// Where the migrations stand.
#[derive(Debug, Clone, PartialEq)]
enum Migration {
    /// Not applied yet; the last attempt's error, if one failed.
    Pending(Option<String>),
    Done,
}

/// The database the server talks to, and the embedded cluster it owns, if any.
pub struct Database {
    pub db: Db,
    embedded: Option<OwnedCluster>,
    migrator: JoinHandle<()>,
    migration: watch::Receiver<Migration>,
}

/// An embedded cluster this process started, with the lock that makes it the owner.
struct OwnedCluster {
    cluster: Cluster,
    _lock: File,
}

impl Database {
    /// Starts the embedded cluster when no hosts are configured, builds the pool and
    /// starts a task that applies pending migrations as soon as a master is known. Never
    /// waits for a configured host: with every host down the server starts, and `/ready`
    /// and every request answer 503 until a master is found and migrated. The embedded
    /// cluster is ours and was just started, so with it this returns once migrated, as
    /// [`Database::open`] does.
    pub async fn start(config: &DatabaseConfig) -> Result<Database, String> {
        let mut database = Self::start_pool(config).await?;
        if database.embedded.is_some() {
            if let Err(e) = database.wait_migrated(OPEN_TIMEOUT).await {
                database.close().await;
                return Err(e);
            }
        }
        Ok(database)
    }

    async fn start_pool(config: &DatabaseConfig) -> Result<Database, String> {
        let (embedded, hosts) = match config.host_addrs() {
            hosts if !hosts.is_empty() => (None, hosts),
            _ => embedded_hosts(config).await?,
        };
        let db = Db::new(config, hosts)?;
        let (state, migration) = watch::channel(Migration::Pending(None));
        let migrator = tokio::spawn(migrate_when_master_known(
            db.clone(),
            config.refresh_delay.get(),
            state,
        ));
        Ok(Database {
            db,
            embedded,
            migrator,
            migration,
        })
    }

    /// [`Database::start`], then waits (at most `wait`) until the migrations are applied:
    /// for `calendula migrate` and for callers that need the schema at once.
    pub async fn open(config: &DatabaseConfig, wait: Duration) -> Result<Database, String> {
        let mut database = Self::start_pool(config).await?;
        match database.wait_migrated(wait).await {
            Ok(()) => Ok(database),
            Err(e) => {
                database.close().await;
                Err(e)
            }
        }
    }

    /// Waits until the migrations are applied, at most `timeout`.
    pub async fn wait_migrated(&mut self, timeout: Duration) -> Result<(), String> {
        let done = matches!(
            tokio::time::timeout(timeout, self.migration.wait_for(|m| *m == Migration::Done)).await,
            Ok(Ok(_))
        );
        if done {
            return Ok(());
        }
        let state = self.migration.borrow().clone();
        Err(match state {
            Migration::Pending(Some(e)) => format!("database migrations not applied: {e}"),
            _ => format!(
                "database migrations not applied: no master reachable within {}s ({})",
                timeout.as_secs(),
                self.host_states()
            ),
        })
    }

    /// Each host's role, and why the down ones are down: "db1:5432 down: connection refused".
    fn host_states(&self) -> String {
        let hosts = self.db.pool().hosts();
        let states = hosts.iter().map(|host| {
            let why = host.last_error.as_ref().map(|e| format!(": {e}"));
            format!(
                "{} {}{}",
                host.addr,
                host.role.as_str(),
                why.unwrap_or_default()
            )
        });
        states.collect::<Vec<_>>().join("; ")
    }

    /// Stops the migration task and the pool (checkers and connections), then the embedded
    /// cluster (cleanly, keeping its data).
    pub async fn close(self) {
        self.migrator.abort();
        let _ = self.migrator.await;
        self.db.close().await;
        if let Some(OwnedCluster { mut cluster, _lock }) = self.embedded {
            let stopped = tokio::task::spawn_blocking(move || cluster.stop()).await;
            match stopped {
                Ok(Ok(())) => log::info!(target: "calendula::db", "embedded PostgreSQL stopped"),
                Ok(Err(e)) => {
                    log::error!(target: "calendula::db", "stopping embedded PostgreSQL: {e}")
                }
                Err(e) => log::error!(target: "calendula::db", "stopping embedded PostgreSQL: {e}"),
            }
        }
    }
}

/// Waits for a master, migrates it, marks the pool ready; retries (backing off) when an
/// attempt fails, e.g. because the master went away meanwhile.
async fn migrate_when_master_known(db: Db, retry: Duration, state: watch::Sender<Migration>) {
    let mut pause = retry;
    loop {
        let Some(master) = db.pool().wait_for_master(Duration::from_secs(3600)).await else {
            if db.pool().is_closed() {
                return;
            }
            continue;
        };
        // A host not checked yet may be a second master (a split brain): migrating one of
        // two would leave the other's replicas without the schema.
        if db
            .pool()
            .hosts()
            .iter()
            .any(|h| h.checks_ok + h.checks_failed == 0)
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        match migrations::run_pending(db.connect_options(), &master).await {
            Ok(migrated) => {
                if migrated.applied.is_empty() {
                    log::info!(target: "calendula::db", "schema up to date on {master}");
                } else {
                    log::info!(target: "calendula::db", "applied migrations on {master}: {}", migrated.applied.join(", "));
                }
                // A replica still short of this position has an older schema.
                db.pool().require_replayed(migrated.wal_position);
                db.mark_migrated();
                state.send_replace(Migration::Done);
                return;
            }
            Err(e) => {
                log::warn!(target: "calendula::db", "migrating {master}: {e}; retrying in {pause:?}");
                state.send_replace(Migration::Pending(Some(e)));
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_RETRY_PAUSE);
            }
        }
    }
}

/// The embedded cluster's hosts: started here when no other server owns it (then ours to
/// stop), otherwise the owner's, waited for while it is still starting.
async fn embedded_hosts(
    config: &DatabaseConfig,
) -> Result<(Option<OwnedCluster>, Vec<HostAddr>), String> {
    let dir = absolute(&config.embedded.dir);
    let lock_path = lock_path(&dir);
    let describe = |e| lock_error(&lock_path, e);
    let started = std::time::Instant::now();
    let mut said = false;
    loop {
        let mut lock = open_lock(&lock_path).map_err(describe)?;
        match lock.try_lock() {
            Ok(()) => {
                let (owned, hosts) = start_owned(config, dir, lock, &lock_path).await?;
                return Ok((Some(owned), hosts));
            }
            Err(TryLockError::WouldBlock) => {
                if let Some(hosts) = listed_hosts(&mut lock, config.port) {
                    log::info!(
                        target: "calendula::db",
                        "the embedded PostgreSQL in {} is run by another Calendula server: using it ({})",
                        dir.display(),
                        hosts.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                    );
                    return Ok((None, hosts));
                }
                if !said {
                    log::info!(target: "calendula::db", "waiting for another Calendula server to start the embedded PostgreSQL in {}", dir.display());
                    said = true;
                }
            }
            Err(TryLockError::Error(e)) => return Err(describe(e)),
        }
        if started.elapsed() > OPEN_TIMEOUT {
            return Err(format!(
                "embedded PostgreSQL: another Calendula server holds {} but did not start the cluster within {}s",
                lock_path.display(),
                OPEN_TIMEOUT.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Starts the cluster while holding `lock`, then lists its hosts in the lock file for the
/// servers that will share it.
async fn start_owned(
    config: &DatabaseConfig,
    dir: PathBuf,
    mut lock: File,
    lock_path: &Path,
) -> Result<(OwnedCluster, Vec<HostAddr>), String> {
    lock.set_len(0).map_err(|e| lock_error(lock_path, e))?;
    let cluster = start_embedded(config, dir).await?;
    let hosts: Vec<HostAddr> = cluster
        .instances()
        .iter()
        .map(|i| HostAddr::new(i.host(), i.port()))
        .collect();
    let listed: String = hosts.iter().map(|h| format!("{h}\n")).collect();
    lock.write_all(listed.as_bytes())
        .map_err(|e| lock_error(lock_path, e))?;
    let owned = OwnedCluster {
        cluster,
        _lock: lock,
    };
    Ok((owned, hosts))
}

fn lock_error(lock_path: &Path, e: std::io::Error) -> String {
    format!("embedded PostgreSQL lock {}: {e}", lock_path.display())
}

/// `var/postgres` → `var/postgres.lock`: beside the directory, not in it, so that the
/// directory stays the launcher's alone (it checks and hands it to the postgres OS user).
fn lock_path(dir: &Path) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    dir.with_file_name(name)
}

fn open_lock(path: &Path) -> std::io::Result<File> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

/// The hosts the owner wrote into the lock file, once it has started the cluster.
fn listed_hosts(lock: &mut File, default_port: u16) -> Option<Vec<HostAddr>> {
    let mut text = String::new();
    lock.rewind().ok()?;
    lock.read_to_string(&mut text).ok()?;
    // Written in one go after the start; a line without its newline is still being written.
    if !text.ends_with('\n') {
        return None;
    }
    text.lines()
        .map(|line| HostAddr::parse(line, default_port).ok())
        .collect()
}

async fn start_embedded(config: &DatabaseConfig, dir: PathBuf) -> Result<Cluster, String> {
    let options = ClusterOptions {
        dir,
        port: Some(config.embedded.port),
        replicas: config.embedded.replicas as usize,
        user: config.user.clone(),
        password: config.password.as_ref().map(|p| p.expose().to_owned()),
        dbname: config.dbname.clone(),
        keep_on_drop: true,
    };
    let cluster = match start_cluster(options.clone()).await {
        // Run as root from a checkout under a private directory (e.g. /root): the postgres
        // OS user cannot reach it, so the data goes to a fixed place it can reach instead.
        Err(LaunchError::NotAccessible(reason)) => {
            let fallback = fallback_dir(&options.dir);
            log::warn!(target: "calendula::db", "{reason}; using {} instead", fallback.display());
            start_cluster(ClusterOptions {
                dir: fallback,
                ..options
            })
            .await
        }
        other => other,
    }
    .map_err(|e| format!("embedded PostgreSQL: {e}"))?;
    log::info!(
        target: "calendula::db",
        "embedded PostgreSQL listening on port {} ({} replicas)",
        cluster.primary().port(),
        cluster.replicas().len()
    );
    Ok(cluster)
}

async fn start_cluster(options: ClusterOptions) -> Result<Cluster, LaunchError> {
    log::info!(target: "calendula::db", "starting embedded PostgreSQL in {}", options.dir.display());
    tokio::task::spawn_blocking(move || Cluster::start(options))
        .await
        .map_err(|e| LaunchError::Setup(format!("the launcher task failed: {e}")))?
}

/// Where the data of `dir` lives when the postgres OS user cannot reach `dir`: the same
/// place for the same configured directory, so restarts find their data again.
fn fallback_dir(dir: &std::path::Path) -> PathBuf {
    let escaped: String = dir
        .to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    PathBuf::from("/var/lib/calendula").join(escaped.trim_matches('_'))
}

fn absolute(dir: &str) -> PathBuf {
    let path = PathBuf::from(dir);
    if path.is_absolute() {
        path
    } else {
        std::env::current_dir()
            .map(|cwd| cwd.join(&path))
            .unwrap_or(path)
    }
}
