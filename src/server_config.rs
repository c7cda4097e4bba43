//! The HTTP server's settings: Rocket.toml (and `ROCKET_*` variables) with the command
//! line's `--host`/`--port`, checked before anything starts so a bad value is reported like
//! a bad config.yaml key instead of after the database is up (or as a panic).

use rocket::figment::value::{Dict, Map};
use rocket::figment::{Error, Figment, Metadata, Profile, Provider};

/// Rocket's settings with the command line's overrides.
pub fn figment(host: Option<String>, port: Option<u16>) -> Figment {
    rocket::Config::figment().merge(CommandLine { host, port })
}

/// `--host`/`--port`, as a provider with a name a problem can be blamed on.
struct CommandLine {
    host: Option<String>,
    port: Option<u16>,
}

const COMMAND_LINE: &str = "command line";

impl CommandLine {
    /// The option that set Rocket's `key`.
    fn flag(key: &str) -> &str {
        match key {
            "address" => "--host",
            "port" => "--port",
            other => other,
        }
    }
}

impl Provider for CommandLine {
    fn metadata(&self) -> Metadata {
        Metadata::named(COMMAND_LINE)
    }

    fn data(&self) -> Result<Map<Profile, Dict>, Error> {
        let mut dict = Dict::new();
        if let Some(host) = &self.host {
            dict.insert("address".into(), host.clone().into());
        }
        if let Some(port) = self.port {
            dict.insert("port".into(), port.into());
        }
        Ok(Profile::Global.collect(dict))
    }
}

/// The HTTP server settings `figment` holds, or every problem of it as Rocket would read
/// it, one line each, naming where the value comes from and its key: `Rocket.toml:
/// default.port: invalid type: ...`.
pub fn check(figment: &Figment) -> Result<rocket::Config, Vec<String>> {
    let config = rocket::Config::try_from(figment)
        .map_err(|error| error.into_iter().map(|e| describe(&e)).collect::<Vec<_>>())?;
    // Rocket (tokio, for max_blocking) panics on these when it builds its runtime.
    let at_least_one = [
        ("workers", config.workers),
        ("max_blocking", config.max_blocking),
    ];
    let mut problems: Vec<String> = at_least_one
        .into_iter()
        .filter(|(_, value)| *value == 0)
        .map(|(key, _)| {
            let origin = origin(figment.find_metadata(key));
            format!("{origin}: {key}: must be at least 1")
        })
        .collect();
    // Rocket is built without its `tls` feature: these would be read and silently ignored,
    // and the server would answer plain HTTP where HTTPS was configured.
    for key in ["tls", "mtls"] {
        if figment.contains(key) {
            let origin = origin(figment.find_metadata(key));
            problems.push(format!(
                "{origin}: {key}: TLS is not built into Calendula; terminate TLS at a reverse proxy in front of it"
            ));
        }
    }
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(problems)
    }
}

fn describe(error: &Error) -> String {
    let origin = origin(error.metadata.as_ref());
    let path = error.path.join(".");
    let key = match (&error.profile, path.as_str()) {
        (_, "") => String::new(),
        _ if origin == COMMAND_LINE => format!("{}: ", CommandLine::flag(&path)),
        (Some(profile), _) => format!("{profile}.{path}: "),
        (None, _) => format!("{path}: "),
    };
    format!("{origin}: {key}{}", one_line(&error.kind.to_string()))
}

/// The file (or other source) a value was read from.
fn origin(metadata: Option<&Metadata>) -> String {
    match metadata {
        Some(Metadata {
            source: Some(source),
            ..
        }) => source.to_string(),
        Some(metadata) => metadata.name.to_string(),
        None => "Rocket config".to_owned(),
    }
}

/// A TOML syntax error quotes the offending line with a caret under it; the message
/// lines around that quote are enough on one line.
fn one_line(message: &str) -> String {
    let is_quote = |line: &str| {
        let line = line.trim_start();
        line.is_empty() || line.starts_with('|') || line.starts_with(|c: char| c.is_ascii_digit())
    };
    let lines: Vec<&str> = message.lines().filter(|line| !is_quote(line)).collect();
    lines.join(": ")
}
