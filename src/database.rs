//! Where the database comes from: the configured hosts, or, when none are configured, the
//! embedded PostgreSQL started from the machine's binaries with data kept in
//! `database.embedded.dir`.

use std::path::PathBuf;

use calendula_db::pool::ConnectParams;
use calendula_db::{migrations, DatabaseConfig, Db, HostAddr};
use calendula_pg::{Cluster, ClusterOptions};

/// The database the server talks to, and the embedded cluster it owns, if any.
pub struct Database {
    pub db: Db,
    embedded: Option<Cluster>,
}

impl Database {
    /// Starts the embedded cluster when no hosts are configured, builds the pool and
    /// applies pending migrations.
    pub async fn open(config: &DatabaseConfig) -> Result<Database, String> {
        let (embedded, addr) = match config.host_addrs().into_iter().next() {
            Some(addr) => (None, addr),
            None => {
                let cluster = start_embedded(config).await?;
                let addr = HostAddr {
                    host: cluster.primary().host().to_owned(),
                    port: cluster.primary().port(),
                };
                (Some(cluster), addr)
            }
        };
        let db = Db::new(ConnectParams::new(addr, config), config);
        let applied = migrations::run_pending(db.params()).await?;
        if !applied.is_empty() {
            log::info!(target: "calendula::db", "applied migrations: {}", applied.join(", "));
        }
        Ok(Database { db, embedded })
    }

    /// Stops the embedded cluster (cleanly, keeping its data).
    pub async fn close(self) {
        if let Some(mut cluster) = self.embedded {
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

async fn start_embedded(config: &DatabaseConfig) -> Result<Cluster, String> {
    let options = ClusterOptions {
        dir: absolute(&config.embedded.dir),
        port: Some(config.embedded.port),
        replicas: config.embedded.replicas as usize,
        user: config.user.clone(),
        password: config.password.as_ref().map(|p| p.expose().to_owned()),
        dbname: config.dbname.clone(),
        keep_on_drop: true,
    };
    log::info!(target: "calendula::db", "starting embedded PostgreSQL in {}", options.dir.display());
    let cluster = tokio::task::spawn_blocking(move || Cluster::start(options))
        .await
        .map_err(|e| format!("embedded PostgreSQL: {e}"))?
        .map_err(|e| format!("embedded PostgreSQL: {e}"))?;
    log::info!(target: "calendula::db", "embedded PostgreSQL listening on port {}", cluster.primary().port());
    Ok(cluster)
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
