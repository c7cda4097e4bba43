//! The `auth` module: sessions, optional passwords and, when `enforce` is on, who may do what.

use calendula_core::config_types::HumanDuration;
use calendula_core::{ConfigProblem, Module, ModuleDescriptor};
use rocket::{Orbit, Rocket, Route};
use rocket_okapi::okapi::openapi3::OpenApi;
use rocket_okapi::settings::OpenApiSettings;
use schemars::JsonSchema;
use serde::Deserialize;

/// `modules.auth` in config.yaml.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    pub enabled: bool,
    /// false: sessions work but nothing requires them (the original service's behaviour).
    pub enforce: bool,
    /// Idle time after which a session expires (sliding).
    pub session_ttl: HumanDuration,
    /// Every user must have a password and give it to open a session.
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

pub struct Auth {
    config: AuthConfig,
}

impl Auth {
    pub fn config(&self) -> &AuthConfig {
        &self.config
    }
}

#[rocket::async_trait]
impl Module for Auth {
    const KEY: &'static str = "auth";
    const MOUNT: &'static str = "/auth";
    type Config = AuthConfig;

    fn validate(config: &AuthConfig) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if config.session_ttl.get().as_secs() < 60 {
            problems.push(ConfigProblem::new("session_ttl", "expected at least 1m"));
        }
        problems
    }

    fn is_enabled(config: &AuthConfig) -> bool {
        config.enabled
    }

    fn new(config: AuthConfig) -> Self {
        Self { config }
    }

    fn routes(_settings: &OpenApiSettings) -> (Vec<Route>, OpenApi) {
        (Vec::new(), OpenApi::new())
    }

    async fn start(&self, _rocket: &Rocket<Orbit>) {
        log::info!(target: "calendula::auth", "auth started (enforce: {})", self.config.enforce);
    }

    async fn stop(&self) {
        log::info!(target: "calendula::auth", "auth stopped");
    }
}

calendula_core::inventory::submit! { ModuleDescriptor::of::<Auth>() }
