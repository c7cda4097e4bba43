//! The HTTP server's settings: Rocket.toml (and `ROCKET_*` variables) with the command
//! line's `--host`/`--port`, checked before anything starts so a bad value is reported like
//! a bad config.yaml key instead of after the database is up (or as a panic).

use rocket::figment::{Error, Figment, Metadata};

/// Rocket's settings with the command line's overrides.
pub fn figment(host: Option<String>, port: Option<u16>) -> Figment {
    let mut figment = rocket::Config::figment();
    if let Some(host) = host {
        figment = figment.merge(("address", host));
    }
    if let Some(port) = port {
        figment = figment.merge(("port", port));
    }
    figment
}

/// Every problem of `figment` as Rocket would read it, one line each, naming where the
/// value comes from and its key: `Rocket.toml: default.port: invalid type: ...`.
pub fn check(figment: &Figment) -> Result<rocket::Config, Vec<String>> {
    let config = rocket::Config::try_from(figment)
        .map_err(|error| error.into_iter().map(|e| describe(&e)).collect::<Vec<_>>())?;
    // Rocket panics on this one when it builds its runtime.
    if config.workers == 0 {
        let origin = origin(figment.find_metadata("workers"));
        return Err(vec![format!("{origin}: workers: must be at least 1")]);
    }
    Ok(config)
}

fn describe(error: &Error) -> String {
    let key = match (&error.profile, error.path.is_empty()) {
        (_, true) => String::new(),
        (Some(profile), false) => format!("{profile}.{}: ", error.path.join(".")),
        (None, false) => format!("{}: ", error.path.join(".")),
    };
    let origin = origin(error.metadata.as_ref());
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
