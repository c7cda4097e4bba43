//! The `database` section of config.yaml.

use calendula_core::config_types::{null_as_default, HumanDuration, Secret, EXPECTED_PORT};
use calendula_core::ConfigProblem;

use crate::pool::HostAddr;
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `host` or `host:port`; empty = run the embedded PostgreSQL.
    pub hosts: Vec<String>,
    /// Port for hosts given without one.
    #[schemars(range(min = 1, max = 65535))]
    pub port: u16,
    #[schemars(length(min = 1))]
    pub dbname: String,
    #[schemars(length(min = 1))]
    pub user: String,
    /// Overridden by the `DB_PASSWORD` environment variable.
    pub password: Option<Secret>,
    /// Connections kept open per host.
    pub min_size: u32,
    /// Connections at most per host.
    #[schemars(range(min = 1))]
    pub max_size: u32,
    /// How long a request waits for a connection before it is answered 503.
    pub timeout: HumanDuration,
    /// Health-check period per host.
    pub refresh_delay: HumanDuration,
    /// One health check's deadline.
    pub refresh_timeout: HumanDuration,
    /// Replicas lagging more than this take no reads; null = no limit.
    pub max_replica_lag: Option<HumanDuration>,
    /// Reads may use the master when no replica is up.
    pub fallback_master: bool,
    /// Probability in [0, 1] that the master is also a candidate for a read.
    #[schemars(range(min = 0, max = 1))]
    pub master_as_replica_weight: f64,
    #[serde(deserialize_with = "null_as_default")]
    #[schemars(with = "Option<EmbeddedConfig>")]
    pub embedded: EmbeddedConfig,
}

/// The private PostgreSQL the server runs when `hosts` is empty.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct EmbeddedConfig {
    /// Data directory; created on first run, reused afterwards.
    #[schemars(length(min = 1))]
    pub dir: String,
    #[schemars(range(min = 1, max = 65535))]
    pub port: u16,
    /// Streaming replicas to start beside the primary.
    #[schemars(range(max = 8))]
    pub replicas: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            hosts: Vec::new(),
            port: 5432,
            dbname: "calendar_db".into(),
            user: "calendar_admin".into(),
            password: None,
            min_size: 1,
            max_size: 10,
            timeout: HumanDuration::from_secs(5),
            refresh_delay: HumanDuration::from_secs(1),
            refresh_timeout: HumanDuration::from_secs(5),
            max_replica_lag: None,
            fallback_master: true,
            master_as_replica_weight: 0.5,
            embedded: EmbeddedConfig::default(),
        }
    }
}

impl Default for EmbeddedConfig {
    fn default() -> Self {
        Self {
            dir: "var/postgres".into(),
            port: 54329,
            replicas: 0,
        }
    }
}

impl DatabaseConfig {
    /// Rules beyond types; paths are relative to `database`.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let mut check = |ok: bool, path: &str, message: &str| {
            if !ok {
                problems.push(ConfigProblem::new(path, message));
            }
        };
        check(
            !self.dbname.is_empty(),
            "dbname",
            "expected a database name",
        );
        check(!self.user.is_empty(), "user", "expected a user name");
        check(
            !self.embedded.dir.is_empty(),
            "embedded.dir",
            "expected a directory path",
        );
        check(self.port != 0, "port", EXPECTED_PORT);
        check(self.embedded.port != 0, "embedded.port", EXPECTED_PORT);
        check(self.max_size >= 1, "max_size", "expected an integer >= 1");
        check(
            self.min_size <= self.max_size,
            "min_size",
            "expected at most max_size",
        );
        check(
            !self.timeout.get().is_zero(),
            "timeout",
            "expected a duration > 0",
        );
        check(
            !self.refresh_delay.get().is_zero(),
            "refresh_delay",
            "expected a duration > 0",
        );
        check(
            !self.refresh_timeout.get().is_zero(),
            "refresh_timeout",
            "expected a duration > 0",
        );
        check(
            (0.0..=1.0).contains(&self.master_as_replica_weight),
            "master_as_replica_weight",
            "expected a probability between 0 and 1",
        );
        check(
            self.embedded.replicas <= 8,
            "embedded.replicas",
            "expected at most 8 replicas",
        );
        for (i, host) in self.hosts.iter().enumerate() {
            if let Err(message) = HostAddr::parse(host, self.port) {
                problems.push(ConfigProblem::new(format!("hosts[{i}]"), message));
            }
        }
        let password = self.password.as_ref().map(Secret::expose);
        for (key, text) in [
            ("dbname", Some(&*self.dbname)),
            ("user", Some(&*self.user)),
            ("password", password),
        ] {
            if let Some(message) = text.and_then(|text| self.unusable_credential(text)) {
                problems.push(ConfigProblem::new(key, message));
            }
        }
        problems
    }

    /// Why PostgreSQL could not be given `text` as a database name, user or password: a
    /// NUL byte (its protocol ends strings there) or, for the embedded database, a line
    /// break (the launcher writes them into PostgreSQL's files).
    pub fn unusable_credential(&self, text: &str) -> Option<&'static str> {
        if text.contains('\0') {
            Some("must not contain a NUL byte")
        } else if self.hosts.is_empty() && text.contains(['\n', '\r']) {
            Some("must not contain a line break with the embedded database")
        } else {
            None
        }
    }

    /// The configured hosts with their ports (validated beforehand).
    pub fn host_addrs(&self) -> Vec<HostAddr> {
        self.hosts
            .iter()
            .filter_map(|h| HostAddr::parse(h, self.port).ok())
            .collect()
    }
}
