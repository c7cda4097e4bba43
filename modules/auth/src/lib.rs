//! The `auth` module: sessions, optional passwords and, when `enforce` is on, who may do what.
//!
//! - `POST /auth/?login=` or `POST /auth/` with `{"login", "password"}` opens a session and
//!   answers its id (a JSON string), shown this once; `GET /auth/me` tells whose session it
//!   is; `DELETE /auth/` revokes it.
//! - When mounted, the module puts an [`AuthPolicy`] into managed state: the root's handlers
//!   and the session guards of `calendula-db` read it, never this crate.
//! - Between liftoff and shutdown, a background task deletes expired sessions.

mod routes;

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use calendula_core::config_types::HumanDuration;
use calendula_core::{password, AuthPolicy, ConfigProblem, Module, ModuleDescriptor};
use calendula_db::{sessions, Db, SessionKeepAlive};
use rocket::tokio::sync::watch;
use rocket::tokio::task::JoinHandle;
use rocket::{Build, Orbit, Rocket, Route};
use rocket_okapi::okapi::openapi3::OpenApi;
use rocket_okapi::settings::OpenApiSettings;
use schemars::JsonSchema;
use serde::Deserialize;

/// The shortest `session_ttl` accepted.
const MIN_SESSION_TTL: Duration = Duration::from_secs(1);

/// The longest `session_ttl` accepted: ten years keeps `now() - ttl` inside PostgreSQL's range.
const MAX_SESSION_TTL: Duration = Duration::from_secs(3650 * 86_400);

/// Longest pause between two purges of expired sessions.
const MAX_PURGE_INTERVAL: Duration = Duration::from_secs(60);

/// `modules.auth` in config.yaml.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    pub enabled: bool,
    /// false: sessions work but nothing requires them (the original service's behaviour).
    /// true: every write but sign-up and log-in needs a session, and only an event's members
    /// see its details.
    pub enforce: bool,
    /// Idle time after which a session expires (sliding); at least 1s.
    pub session_ttl: HumanDuration,
    /// Every new user must have a password, and every session needs it.
    pub require_passwords: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            enforce: false,
            session_ttl: HumanDuration::from_secs(30 * 86_400),
            require_passwords: false,
        }
    }
}

impl AuthConfig {
    pub fn policy(&self) -> AuthPolicy {
        AuthPolicy {
            enforce: self.enforce,
            require_passwords: self.require_passwords,
            session_ttl: self.session_ttl.get(),
        }
    }
}

/// The running purge task and the sender that stops it.
struct Purger {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

pub struct Auth {
    config: AuthConfig,
    /// An argon2id hash of a random password, verified against when the login is unknown
    /// (or has no password) so that such a refusal costs the same time as a wrong password.
    dummy_hash: OnceLock<String>,
    purger: Mutex<Option<Purger>>,
}

impl Auth {
    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// How often expired sessions are purged: every `session_ttl`, at least once a minute.
    pub fn purge_interval(&self) -> Duration {
        self.config
            .session_ttl
            .get()
            .clamp(MIN_SESSION_TTL, MAX_PURGE_INTERVAL)
    }

    /// The dummy hash, computed on first use (costly: one argon2id hash).
    async fn dummy_hash(&self) -> String {
        if let Some(hash) = self.dummy_hash.get() {
            return hash.clone();
        }
        let computed = rocket::tokio::task::spawn_blocking(|| {
            let random = sessions::SessionId::generate();
            password::hash(random.expose())
        })
        .await
        .ok()
        .and_then(Result::ok)
        // A hash that never verifies; still parsed (cheaply) by `verify`.
        .unwrap_or_default();
        self.dummy_hash.get_or_init(|| computed).clone()
    }
}

async fn purge_loop(db: Db, ttl: Duration, every: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        rocket::tokio::select! {
            _ = stop.changed() => return,
            _ = rocket::tokio::time::sleep(every) => {}
        }
        let purged = match db.write().await {
            Ok(mut conn) => sessions::purge_expired(&mut conn, ttl).await,
            Err(e) => Err(e),
        };
        match purged {
            Ok(0) => {}
            Ok(n) => log::debug!(target: "calendula::auth", "purged {n} expired sessions"),
            Err(e) => log::warn!(target: "calendula::auth", "purging expired sessions failed: {e}"),
        }
    }
}

#[rocket::async_trait]
impl Module for Auth {
    const KEY: &'static str = "auth";
    const MOUNT: &'static str = "/auth";
    type Config = AuthConfig;

    fn validate(config: &AuthConfig) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if config.session_ttl.get() < MIN_SESSION_TTL {
            problems.push(ConfigProblem::new("session_ttl", "expected at least 1s"));
        }
        if config.session_ttl.get() > MAX_SESSION_TTL {
            problems.push(ConfigProblem::new("session_ttl", "expected at most 3650d"));
        }
        problems
    }

    fn is_enabled(config: &AuthConfig) -> bool {
        config.enabled
    }

    fn new(config: AuthConfig) -> Self {
        Self {
            config,
            dummy_hash: OnceLock::new(),
            purger: Mutex::new(None),
        }
    }

    fn routes(settings: &OpenApiSettings) -> (Vec<Route>, OpenApi) {
        routes::routes(settings)
    }

    fn on_build(&self, rocket: Rocket<Build>) -> Rocket<Build> {
        rocket
            .manage(self.config.policy())
            .attach(SessionKeepAlive::default())
    }

    async fn start(&self, rocket: &Rocket<Orbit>) {
        // Computed now rather than on the first failed log-in, which would take longer.
        self.dummy_hash().await;
        let Some(db) = rocket.state::<Db>().cloned() else {
            log::error!(target: "calendula::auth", "no database pool: expired sessions will not be purged");
            return;
        };
        let (stop, stopped) = watch::channel(false);
        let task = rocket::tokio::spawn(purge_loop(
            db,
            self.config.session_ttl.get(),
            self.purge_interval(),
            stopped,
        ));
        if let Ok(mut purger) = self.purger.lock() {
            *purger = Some(Purger { stop, task });
        }
        log::info!(
            target: "calendula::auth",
            "auth started (enforce: {}, require_passwords: {}, session_ttl: {})",
            self.config.enforce, self.config.require_passwords, self.config.session_ttl
        );
    }

    async fn stop(&self) {
        let purger = self.purger.lock().ok().and_then(|mut p| p.take());
        if let Some(Purger { stop, task }) = purger {
            let _ = stop.send(true);
            let _ = task.await;
        }
        log::info!(target: "calendula::auth", "auth stopped");
    }
}

calendula_core::inventory::submit! { ModuleDescriptor::of::<Auth>() }

#[cfg(test)]
mod tests {
    use super::*;

    fn config(yaml: &str) -> AuthConfig {
        serde_json::from_value(serde_json::from_str(yaml).unwrap()).unwrap()
    }

    #[test]
    fn session_ttl_is_at_least_one_second() {
        assert!(Auth::validate(&config(r#"{"session_ttl": "1s"}"#)).is_empty());
        let problems = Auth::validate(&config(r#"{"session_ttl": "999ms"}"#));
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].path, "session_ttl");
    }

    #[test]
    fn purge_runs_every_ttl_but_at_least_once_a_minute() {
        let auth = Auth::new(config(r#"{"session_ttl": "2s"}"#));
        assert_eq!(auth.purge_interval(), Duration::from_secs(2));
        let auth = Auth::new(AuthConfig::default());
        assert_eq!(auth.purge_interval(), MAX_PURGE_INTERVAL);
    }

    #[test]
    fn policy_mirrors_the_config() {
        let policy =
            config(r#"{"enforce": true, "require_passwords": true, "session_ttl": "5m"}"#).policy();
        assert!(policy.enforce && policy.require_passwords);
        assert_eq!(policy.session_ttl, Duration::from_secs(300));
    }
}
