//! The connection pool handlers draw from. Reads and writes ask for different kinds of
//! connection (`read()` / `write()`) so that routing reads to replicas stays a pool concern.

use std::fmt;
use std::time::Duration;

use calendula_core::config_types::Secret;
use calendula_core::{ApiError, ApiResult};
use diesel::{ConnectionError, ConnectionResult};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::AsyncPgConnection;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use tokio_postgres::NoTls;

use crate::config::DatabaseConfig;

type Manager = AsyncDieselConnectionManager<AsyncPgConnection>;

/// A pooled connection, returned to its pool on drop.
pub type Conn = bb8::PooledConnection<'static, Manager>;

/// Connections are replaced after this long, so that a host's new role or a silently dead
/// peer cannot linger in the pool forever.
const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// A database host as configured: `host` or `host:port`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostAddr {
    pub host: String,
    pub port: u16,
}

impl HostAddr {
    pub fn parse(text: &str, default_port: u16) -> Result<Self, String> {
        let expected = || format!("invalid host {text:?}, expected \"host\" or \"host:port\"");
        let (host, port) = match text.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') || host.ends_with(']') => (
                host.trim_start_matches('[').trim_end_matches(']'),
                port.parse().map_err(|_| expected())?,
            ),
            _ => (text, default_port),
        };
        if host.is_empty() || host.contains(char::is_whitespace) {
            return Err(expected());
        }
        Ok(Self {
            host: host.to_owned(),
            port,
        })
    }
}

impl fmt::Display for HostAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// How to open one connection to one host. `Debug` hides the password.
#[derive(Debug, Clone)]
pub struct ConnectParams {
    pub addr: HostAddr,
    pub user: String,
    pub password: Option<Secret>,
    pub dbname: String,
    pub connect_timeout: Duration,
}

impl ConnectParams {
    pub fn new(addr: HostAddr, config: &DatabaseConfig) -> Self {
        Self {
            addr,
            user: config.user.clone(),
            password: config.password.clone(),
            dbname: config.dbname.clone(),
            connect_timeout: config.timeout.get(),
        }
    }

    fn pg_config(&self) -> tokio_postgres::Config {
        let mut pg = tokio_postgres::Config::new();
        pg.host(&self.addr.host)
            .port(self.addr.port)
            .user(&self.user)
            .dbname(&self.dbname)
            .application_name("calendula")
            .connect_timeout(self.connect_timeout)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(10))
            .keepalives_interval(Duration::from_secs(5))
            .keepalives_retries(3);
        if let Some(password) = &self.password {
            pg.password(password.expose());
        }
        pg
    }

    /// Opens one connection outside any pool (migrations, health checks).
    pub async fn connect(&self) -> ConnectionResult<AsyncPgConnection> {
        let (client, connection) = self
            .pg_config()
            .connect(NoTls)
            .await
            .map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
        AsyncPgConnection::try_from_client_and_connection(client, connection).await
    }
}

/// The application's database handle, kept in Rocket's managed state. Clones share the pool.
#[derive(Clone)]
pub struct Db {
    params: ConnectParams,
    pool: bb8::Pool<Manager>,
}

impl Db {
    /// Builds the pool without waiting for the host: the server starts even when the
    /// database is down, and answers 503 until it is back.
    pub fn new(params: ConnectParams, config: &DatabaseConfig) -> Self {
        let setup_params = params.clone();
        let mut manager_config = ManagerConfig::default();
        manager_config.custom_setup = Box::new(
            move |_url: &str| -> BoxFuture<'_, ConnectionResult<AsyncPgConnection>> {
                let params = setup_params.clone();
                async move { params.connect().await }.boxed()
            },
        );
        let manager = Manager::new_with_config(String::new(), manager_config);
        let pool = bb8::Pool::builder()
            .max_size(config.max_size)
            .min_idle(Some(config.min_size))
            .connection_timeout(config.timeout.get())
            .max_lifetime(Some(MAX_LIFETIME))
            .test_on_check_out(false)
            .build_unchecked(manager);
        Self { params, pool }
    }

    pub fn params(&self) -> &ConnectParams {
        &self.params
    }

    /// A connection for queries that only read.
    pub async fn read(&self) -> ApiResult<Conn> {
        self.get().await
    }

    /// A connection on the primary, for writes.
    pub async fn write(&self) -> ApiResult<Conn> {
        self.get().await
    }

    async fn get(&self) -> ApiResult<Conn> {
        self.pool.get_owned().await.map_err(|e| {
            log::warn!(target: "calendula::db", "no connection to {}: {e}", self.params.addr);
            ApiError::unavailable(format!("no database host available: {e}"))
        })
    }

    /// Pool gauges in Prometheus text format.
    pub fn metrics(&self) -> String {
        let state = self.pool.state();
        let host = &self.params.addr;
        let in_use = state.connections - state.idle_connections;
        format!(
            "# HELP calendula_db_connections Open database connections by state.\n\
             # TYPE calendula_db_connections gauge\n\
             calendula_db_connections{{host=\"{host}\",state=\"idle\"}} {}\n\
             calendula_db_connections{{host=\"{host}\",state=\"in_use\"}} {in_use}\n",
            state.idle_connections
        )
    }

    /// True when the database answers a trivial query.
    pub async fn is_reachable(&self) -> bool {
        use diesel_async::RunQueryDsl;
        match self.get().await {
            Ok(mut conn) => diesel::sql_query("SELECT 1")
                .execute(&mut *conn)
                .await
                .is_ok(),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts() {
        let cases = [
            ("db1", "db1", 5432),
            ("db1:6543", "db1", 6543),
            ("127.0.0.1:5433", "127.0.0.1", 5433),
            ("[::1]:5434", "::1", 5434),
            ("::1", "::1", 5432),
        ];
        for (text, host, port) in cases {
            assert_eq!(
                HostAddr::parse(text, 5432).unwrap(),
                HostAddr {
                    host: host.into(),
                    port
                },
                "{text}"
            );
        }
        for bad in ["", "db1:x", "db1:99999", "a b"] {
            assert!(HostAddr::parse(bad, 5432).is_err(), "{bad}");
        }
    }
}
