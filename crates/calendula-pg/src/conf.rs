//! Text of the configuration files the launcher manages, and quoting helpers.

use std::path::Path;

/// Name of the settings file written into every data directory on every start. It is
/// included at the end of `postgresql.conf`; `postgresql.auto.conf` (ALTER SYSTEM) still
/// overrides it.
pub(crate) const MANAGED_CONF: &str = "calendula.conf";
pub(crate) const INCLUDE_LINE: &str = "include_if_exists = 'calendula.conf'";

/// Per-instance settings.
pub(crate) struct ConfParams<'a> {
    pub(crate) name: &'a str,
    pub(crate) port: u16,
    pub(crate) socket_dir: &'a Path,
    /// Temporary (test) cluster: trade durability for speed.
    pub(crate) fast: bool,
    /// Keep this much WAL for standbys that fall behind (`None` = PostgreSQL default).
    pub(crate) wal_keep: Option<&'a str>,
    /// `Some(conninfo)` for a streaming standby.
    pub(crate) primary_conninfo: Option<&'a str>,
}

pub(crate) fn postgresql_conf(p: &ConfParams<'_>) -> String {
    let mut s = String::from(
        "# Managed by calendula-pg: rewritten on every start. Put your own settings in\n\
         # postgresql.conf before the include line, or use ALTER SYSTEM.\n",
    );
    let mut set = |k: &str, v: String| {
        s.push_str(k);
        s.push_str(" = ");
        s.push_str(&v);
        s.push('\n');
    };
    set("listen_addresses", conf_string("127.0.0.1"));
    set("port", p.port.to_string());
    set(
        "unix_socket_directories",
        conf_string(&p.socket_dir.to_string_lossy()),
    );
    set("unix_socket_permissions", "0700".into());
    set("cluster_name", conf_string(p.name));
    set("max_connections", "200".into());
    set("wal_level", "replica".into());
    set("max_wal_senders", "10".into());
    set("max_replication_slots", "10".into());
    if let Some(keep) = p.wal_keep {
        set("wal_keep_size", conf_string(keep));
    }
    set("hot_standby", "on".into());
    set("hot_standby_feedback", "on".into());
    set("wal_receiver_status_interval", conf_string("1s"));
    set("wal_retrieve_retry_interval", conf_string("500ms"));
    set("logging_collector", "off".into());
    set("log_destination", conf_string("stderr"));
    set("log_line_prefix", conf_string("%m [%p] %q%u@%d "));
    // The managed cluster lives on a local disk and its working set in the page cache:
    // the default (4, for spinning disks) makes the planner prefer a sequential scan of
    // `participants` over its primary key for a listing's few hundred event ids.
    set("random_page_cost", "1.1".into());
    if p.fast {
        // Not synchronous_commit=off: that loses the last commits when a postmaster is
        // killed (WAL buffers live in shared memory), which crash tests must not see.
        // fsync=off only risks data on an OS crash.
        set("fsync", "off".into());
        set("shared_buffers", conf_string("32MB"));
    }
    if let Some(ci) = p.primary_conninfo {
        set("primary_conninfo", conf_string(ci));
        set("recovery_target_timeline", conf_string("latest"));
    }
    s
}

/// pg_hba.conf: trust on the (0700) unix socket; on 127.0.0.1 trust without a password,
/// scram-sha-256 with one (normal and replication connections alike).
pub(crate) fn pg_hba(password: bool) -> String {
    let method = if password { "scram-sha-256" } else { "trust" };
    format!(
        "# Managed by calendula-pg: rewritten on every start.\n\
         # TYPE  DATABASE     USER  ADDRESS        METHOD\n\
         local   all          all                  trust\n\
         local   replication  all                  trust\n\
         host    all          all   127.0.0.1/32   {method}\n\
         host    replication  all   127.0.0.1/32   {method}\n"
    )
}

/// A single-quoted postgresql.conf string value.
pub(crate) fn conf_string(v: &str) -> String {
    format!("'{}'", v.replace('\\', "\\\\").replace('\'', "''"))
}

/// A single-quoted libpq conninfo value.
pub(crate) fn conninfo_value(v: &str) -> String {
    format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// A SQL string literal (standard_conforming_strings = on).
pub(crate) fn sql_literal(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

/// A quoted SQL identifier.
pub(crate) fn sql_ident(v: &str) -> String {
    format!("\"{}\"", v.replace('"', "\"\""))
}

/// Percent-encodes everything but RFC 3986 unreserved characters (for URL userinfo and path).
pub(crate) fn percent_encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(conf_string(r"a'b\c"), r"'a''b\\c'");
        assert_eq!(conninfo_value(r"a'b\c d"), r"'a\'b\\c d'");
        assert_eq!(sql_literal("it's"), "'it''s'");
        assert_eq!(sql_ident(r#"my"db"#), r#""my""db""#);
        assert_eq!(percent_encode("p@ss:w/rd é"), "p%40ss%3Aw%2Frd%20%C3%A9");
    }

    #[test]
    fn fast_settings_only_when_asked() {
        let mut p = ConfParams {
            name: "primary",
            port: 5999,
            socket_dir: Path::new("/x/run"),
            fast: false,
            wal_keep: None,
            primary_conninfo: None,
        };
        let durable = postgresql_conf(&p);
        assert!(!durable.contains("fsync"));
        assert!(durable.contains("port = 5999\n"));
        assert!(durable.contains("listen_addresses = '127.0.0.1'\n"));
        assert!(!durable.contains("primary_conninfo"));
        p.fast = true;
        p.primary_conninfo = Some("host='/x/run' port=1");
        let fast = postgresql_conf(&p);
        assert!(fast.contains("fsync = off\n"));
        assert!(!fast.contains("synchronous_commit"));
        assert!(fast.contains("primary_conninfo = 'host=''/x/run'' port=1'\n"));
    }

    #[test]
    fn hba_methods() {
        assert!(pg_hba(false).contains("127.0.0.1/32   trust"));
        assert!(pg_hba(true).contains("host    replication  all   127.0.0.1/32   scram-sha-256"));
        assert!(pg_hba(true).contains("local   all          all                  trust"));
    }
}
