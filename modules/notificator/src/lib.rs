//! The `notificator` module: reminders for event occurrences, delivered over configured
//! channels.

mod config;

use calendula_core::{ConfigProblem, Module, ModuleDescriptor};
use rocket::{Orbit, Rocket, Route};
use rocket_okapi::okapi::openapi3::OpenApi;
use rocket_okapi::settings::OpenApiSettings;

pub use config::{Channel, ChannelConfig, NotificatorConfig, SmtpTls};

pub struct Notificator {
    config: NotificatorConfig,
}

impl Notificator {
    pub fn config(&self) -> &NotificatorConfig {
        &self.config
    }
}

#[rocket::async_trait]
impl Module for Notificator {
    const KEY: &'static str = "notificator";
    const MOUNT: &'static str = "/notificator";
    type Config = NotificatorConfig;

    fn validate(config: &NotificatorConfig) -> Vec<ConfigProblem> {
        config.validate()
    }

    fn is_enabled(config: &NotificatorConfig) -> bool {
        config.enabled
    }

    fn new(config: NotificatorConfig) -> Self {
        Self { config }
    }

    fn routes(_settings: &OpenApiSettings) -> (Vec<Route>, OpenApi) {
        (Vec::new(), OpenApi::new())
    }

    async fn start(&self, _rocket: &Rocket<Orbit>) {
        log::info!(target: "calendula::notificator", "notificator started (poll every {})", self.config.poll_interval);
    }

    async fn stop(&self) {
        log::info!(target: "calendula::notificator", "notificator stopped");
    }
}

calendula_core::inventory::submit! { ModuleDescriptor::of::<Notificator>() }
