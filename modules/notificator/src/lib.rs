//! The `notificator` module: reminders for event occurrences, delivered over configured
//! channels (SPEC §7).
//!
//! - `notification_schedule` (written with the event, see `calendula_db::notifications`)
//!   holds, per reminder rule, the next occurrence to notify and its fire time.
//! - The worker ([`worker`]) claims due schedule rows with `FOR UPDATE SKIP LOCKED`, writes one
//!   `notification_deliveries` row per recipient (unique per rule, occurrence and recipient)
//!   and moves the schedule row to the next occurrence; then it leases due pending
//!   deliveries and sends them concurrently, each under a deadline, recording `sent`,
//!   `failed` (after `max_attempts`, exponential backoff between), `skipped` (no contact) or
//!   `missed` (overdue beyond `max_lateness`).
//! - Senders ([`sender`]): `log`, `webhook`, `telegram`, `smtp`.

mod config;
mod metrics;
mod sender;
mod store;
mod worker;

use std::sync::{Arc, Mutex};

use calendula_core::metrics::MetricsRegistry;
use calendula_core::{ConfigProblem, Module, ModuleDescriptor};
use rocket::{Orbit, Rocket, Route};
use rocket_okapi::okapi::openapi3::OpenApi;
use rocket_okapi::settings::OpenApiSettings;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{ChannelConfig, NotificatorConfig, SmtpTls};
pub use metrics::Metrics;
pub use sender::{Message, SendError, Sender, Senders};

const LOG: &str = "calendula::notificator";

pub struct Notificator {
    config: NotificatorConfig,
    metrics: Arc<Metrics>,
    running: Mutex<Option<Running>>,
}

/// The worker between liftoff and shutdown.
struct Running {
    stop: watch::Sender<bool>,
    worker: JoinHandle<()>,
}

impl Notificator {
    pub fn config(&self) -> &NotificatorConfig {
        &self.config
    }

    /// This instance's counters (also in `/metrics`).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
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
        Self {
            config,
            metrics: Arc::new(Metrics::default()),
            running: Mutex::new(None),
        }
    }

    fn routes(_settings: &OpenApiSettings) -> (Vec<Route>, OpenApi) {
        (Vec::new(), OpenApi::new())
    }

    async fn start(&self, rocket: &Rocket<Orbit>) {
        let Some(db) = rocket.state::<calendula_db::Db>() else {
            log::error!(target: LOG, "notificator not started: no database in the server state");
            return;
        };
        let senders = match Senders::build(&self.config) {
            Ok(senders) => senders,
            Err(e) => {
                log::error!(target: LOG, "notificator not started: {e}");
                return;
            }
        };
        if let Some(registry) = rocket.state::<MetricsRegistry>() {
            registry.register(self.metrics.clone());
        }
        let (stop, stopped) = watch::channel(false);
        let worker = worker::Worker {
            db: db.clone(),
            settings: Arc::new(worker::Settings::new(&self.config)),
            senders: Arc::new(senders),
            metrics: self.metrics.clone(),
        };
        let worker = tokio::spawn(worker.run(stopped));
        if let Ok(mut running) = self.running.lock() {
            *running = Some(Running { stop, worker });
        }
        let channels: Vec<String> = calendula_core::models::Channel::ALL
            .iter()
            .map(|c| {
                let sender = self
                    .config
                    .channels
                    .get(c)
                    .map_or("log", |s| s.sender_name());
                format!("{}={sender}", c.as_str())
            })
            .collect();
        log::info!(
            target: LOG,
            "notificator started (poll every {}, batch {}, channels {})",
            self.config.poll_interval,
            self.config.batch_size,
            channels.join(" ")
        );
    }

    async fn stop(&self) {
        let running = self.running.lock().ok().and_then(|mut r| r.take());
        if let Some(Running { stop, mut worker }) = running {
            let _ = stop.send(true);
            // Messages in flight finish within their deadline, then their outcomes are written.
            let grace = self.config.send_timeout.get() + std::time::Duration::from_secs(5);
            if tokio::time::timeout(grace, &mut worker).await.is_err() {
                log::warn!(target: LOG, "notificator worker did not stop within {grace:?}; aborted");
                worker.abort();
            }
        }
        log::info!(target: LOG, "notificator stopped");
    }
}

calendula_core::inventory::submit! { ModuleDescriptor::of::<Notificator>() }
