//! What the pool is built from: the hosts, how to open one connection, and the pool knobs.

use std::fmt;
use std::time::Duration;

use diesel::{ConnectionError, ConnectionResult};
use diesel_async::AsyncPgConnection;
use tokio::sync::watch;
use tokio_postgres::NoTls;

use crate::causes::with_causes;

/// A database host: `host` or `host:port` (IPv6 literals in brackets when a port follows).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostAddr {
    pub host: String,
    pub port: u16,
}

impl HostAddr {
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
        }
    }

    /// Parses `host`, `host:port`, `[v6]:port` or a bare IPv6 literal (`::1`).
    pub fn parse(text: &str, default_port: u16) -> Result<Self, String> {
        let expected = || format!("invalid host {text:?}, expected \"host\" or \"host:port\"");
        let (host, port) = match text.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') || host.ends_with(']') => (
                host.trim_start_matches('[').trim_end_matches(']'),
                port.parse().ok().filter(|&p| p != 0).ok_or_else(expected)?,
            ),
            _ => (text, default_port),
        };
        if host.is_empty() || host.contains(char::is_whitespace) {
            return Err(expected());
        }
        Ok(Self::new(host, port))
    }
}

impl fmt::Display for HostAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// How to open one connection (the same for every host). `Debug` hides the password.
#[derive(Clone)]
pub struct ConnectOptions {
    pub user: String,
    pub password: Option<String>,
    pub dbname: String,
    pub application_name: String,
    /// TCP connect + startup deadline of one connection attempt.
    pub connect_timeout: Duration,
    /// TCP keepalive: first probe after this much silence, then every
    /// `keepalive_interval`, `keepalive_retries` times, so an idle socket to a vanished
    /// peer is closed instead of lingering in the pool.
    pub keepalive_idle: Duration,
    pub keepalive_interval: Duration,
    pub keepalive_retries: u32,
    /// `TCP_USER_TIMEOUT`: a connection whose sent data stays unacknowledged this long is
    /// closed, so a query to a silently dead host cannot hang for the kernel's ~15 minutes.
    pub tcp_user_timeout: Duration,
}

impl ConnectOptions {
    pub fn new(user: impl Into<String>, dbname: impl Into<String>) -> Self {
        Self {
            user: user.into(),
            password: None,
            dbname: dbname.into(),
            application_name: "pg-multihost".into(),
            connect_timeout: Duration::from_secs(5),
            keepalive_idle: Duration::from_secs(10),
            keepalive_interval: Duration::from_secs(5),
            keepalive_retries: 3,
            tcp_user_timeout: Duration::from_secs(15),
        }
    }

    /// The tokio-postgres settings for one host.
    pub fn pg_config(&self, addr: &HostAddr) -> tokio_postgres::Config {
        let mut pg = tokio_postgres::Config::new();
        pg.host(&addr.host)
            .port(addr.port)
            .user(&self.user)
            .dbname(&self.dbname)
            .application_name(&self.application_name)
            .connect_timeout(self.connect_timeout)
            .keepalives(true)
            .keepalives_idle(self.keepalive_idle)
            .keepalives_interval(self.keepalive_interval)
            .keepalives_retries(self.keepalive_retries)
            .tcp_user_timeout(self.tcp_user_timeout);
        if let Some(password) = &self.password {
            pg.password(password);
        }
        pg
    }

    /// Opens one diesel-async connection to `addr`, outside any pool (migrations, tools).
    pub async fn connect(&self, addr: &HostAddr) -> ConnectionResult<AsyncPgConnection> {
        let (client, connection) = self.open(addr).await?;
        AsyncPgConnection::try_from_client_and_connection(client, connection).await
    }

    /// Opens one connection whose socket is closed as soon as `close` changes (or its sender
    /// goes away): statements waiting on it then fail at once with "connection closed".
    /// This is how a pool abandons a host that stopped answering, since a frozen server
    /// keeps its TCP connections open and would leave them waiting forever.
    pub(crate) async fn connect_closable(
        &self,
        addr: &HostAddr,
        mut close: watch::Receiver<u64>,
    ) -> ConnectionResult<AsyncPgConnection> {
        let (client, connection) = self.open(addr).await?;
        tokio::spawn(async move {
            tokio::select! {
                _ = connection => {}
                _ = close.changed() => {}
            }
        });
        AsyncPgConnection::try_from(client).await
    }

    async fn open(
        &self,
        addr: &HostAddr,
    ) -> ConnectionResult<(
        tokio_postgres::Client,
        tokio_postgres::Connection<tokio_postgres::Socket, tokio_postgres::tls::NoTlsStream>,
    )> {
        self.pg_config(addr)
            .connect(NoTls)
            .await
            .map_err(|e| ConnectionError::BadConnection(format!("{addr}: {}", with_causes(&e))))
    }
}

impl fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("dbname", &self.dbname)
            .field("application_name", &self.application_name)
            .field("connect_timeout", &self.connect_timeout)
            .field("tcp_user_timeout", &self.tcp_user_timeout)
            .finish_non_exhaustive()
    }
}

/// The whole pool: hosts, connection options, per-host pool sizes, health checking and the
/// defaults of [`crate::MultiHostPool::read`] / [`crate::MultiHostPool::write`].
#[derive(Debug, Clone)]
pub struct PoolConfig {
    pub hosts: Vec<HostAddr>,
    pub connect: ConnectOptions,
    /// Idle connections kept open per host (while the host is up).
    pub min_size: u32,
    /// Connections at most per host.
    pub max_size: u32,
    /// Default acquire budget: choosing a host and getting a connection.
    pub timeout: Duration,
    /// Health-check period per host.
    pub refresh_delay: Duration,
    /// One health check's deadline (connecting included).
    pub refresh_timeout: Duration,
    /// Replicas whose replay lag exceeds this take no reads; `None` = no limit.
    pub max_replica_lag: Option<Duration>,
    /// Default for reads: use the master when no replica can serve.
    pub fallback_master: bool,
    /// Default for reads: probability in [0, 1] that the master is also a candidate.
    pub master_as_replica_weight: f64,
    /// Pooled connections are closed after this long.
    pub max_lifetime: Duration,
    /// Median check latency is taken over this many latest successful checks.
    pub latency_window: usize,
}

impl PoolConfig {
    pub fn new(hosts: Vec<HostAddr>, connect: ConnectOptions) -> Self {
        Self {
            hosts,
            connect,
            min_size: 1,
            max_size: 10,
            timeout: Duration::from_secs(5),
            refresh_delay: Duration::from_secs(1),
            refresh_timeout: Duration::from_secs(5),
            max_replica_lag: None,
            fallback_master: true,
            master_as_replica_weight: 0.5,
            max_lifetime: Duration::from_secs(30 * 60),
            latency_window: 128,
        }
    }

    /// Every rule the types cannot express, one message per problem.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut check = |ok: bool, message: &str| {
            if !ok {
                problems.push(message.to_owned());
            }
        };
        check(!self.hosts.is_empty(), "hosts: expected at least one host");
        check(self.max_size >= 1, "max_size: expected >= 1");
        check(
            self.min_size <= self.max_size,
            "min_size: expected <= max_size",
        );
        check(!self.timeout.is_zero(), "timeout: expected > 0");
        check(!self.refresh_delay.is_zero(), "refresh_delay: expected > 0");
        check(
            !self.refresh_timeout.is_zero(),
            "refresh_timeout: expected > 0",
        );
        check(!self.max_lifetime.is_zero(), "max_lifetime: expected > 0");
        check(self.latency_window >= 1, "latency_window: expected >= 1");
        check(
            (0.0..=1.0).contains(&self.master_as_replica_weight),
            "master_as_replica_weight: expected a probability in [0, 1]",
        );
        problems
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
                HostAddr::new(host, port),
                "{text}"
            );
        }
        for bad in ["", "db1:x", "db1:99999", "db1:0", "a b"] {
            assert!(HostAddr::parse(bad, 5432).is_err(), "{bad}");
        }
        assert_eq!(HostAddr::new("::1", 5).to_string(), "[::1]:5");
        assert_eq!(HostAddr::new("db", 5).to_string(), "db:5");
    }

    #[test]
    fn debug_hides_the_password() {
        let mut options = ConnectOptions::new("u", "d");
        options.password = Some("hunter2".into());
        let text = format!("{options:?}");
        assert!(!text.contains("hunter2") && text.contains("***"), "{text}");
    }

    #[tokio::test]
    async fn a_connect_error_names_its_cause_once() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let options = ConnectOptions::new("u", "d");
        let error = options
            .pg_config(&HostAddr::new("127.0.0.1", port))
            .connect(NoTls)
            .await
            .err()
            .expect("nothing listens there");
        let text = with_causes(&error);
        assert!(text.starts_with("error connecting to server: "), "{text}");
        assert_eq!(text.matches("Connection refused").count(), 1, "{text}");
    }

    #[test]
    fn reports_bad_configs() {
        let mut config = PoolConfig::new(Vec::new(), ConnectOptions::new("u", "d"));
        config.master_as_replica_weight = 1.5;
        config.min_size = 20;
        let problems = config.problems();
        assert_eq!(problems.len(), 3, "{problems:?}");
    }
}
