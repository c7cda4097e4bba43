//! The module contract. A module is a crate under `modules/` that owns one section of
//! `config.yaml` (`modules.<key>`), contributes routes with their OpenAPI, and runs background
//! work between liftoff and shutdown. It registers a const [`ModuleDescriptor`] with
//! `inventory::submit!`; the root collects them at start-up.

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use rocket::fairing::{Fairing, Info, Kind};
use rocket::{Build, Orbit, Rocket, Route};
use rocket_okapi::okapi::openapi3::OpenApi;
use rocket_okapi::settings::OpenApiSettings;
use schemars::gen::SchemaGenerator;
use schemars::schema::Schema;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use crate::in_flight::InFlightRequests;

/// One configuration problem: where (a dotted key path) and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub path: String,
    pub message: String,
}

impl ConfigProblem {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }

    /// The same problem seen from one level up (`poll_interval` -> `modules.notificator.poll_interval`).
    pub fn under(self, prefix: &str) -> Self {
        let path = match self.path.as_str() {
            "" | "." => prefix.to_owned(),
            inner => format!("{prefix}.{inner}"),
        };
        Self { path, ..self }
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// What a module implements. A module is a singleton: one value per server, kept in Rocket's
/// managed state, so its routes reach it with `&State<M>`.
#[rocket::async_trait]
pub trait Module: Send + Sync + Sized + 'static {
    /// The key of its section under `modules:` in config.yaml.
    const KEY: &'static str;
    /// Where its routes are mounted.
    const MOUNT: &'static str;
    /// Its section. Derive with `#[serde(deny_unknown_fields, default)]` so unknown keys are
    /// reported and a missing section means "all defaults".
    type Config: DeserializeOwned + JsonSchema + Send + Sync + 'static;

    /// Rules the type system cannot express (ranges, combinations).
    fn validate(_config: &Self::Config) -> Vec<ConfigProblem> {
        Vec::new()
    }

    /// A disabled module mounts no routes and starts no work.
    fn is_enabled(config: &Self::Config) -> bool;

    fn new(config: Self::Config) -> Self;

    fn routes(settings: &OpenApiSettings) -> (Vec<Route>, OpenApi);

    /// Called once when the module is mounted, before the module itself is managed: lets it
    /// put values the root's handlers read into managed state (e.g. the `auth` module's
    /// `AuthPolicy`). A type defined in `calendula-core` keeps handlers independent of the
    /// module crate. The default does nothing.
    fn on_build(&self, rocket: Rocket<Build>) -> Rocket<Build> {
        rocket
    }

    /// Starts background work; called once at liftoff.
    async fn start(&self, rocket: &Rocket<Orbit>);

    /// Stops background work and waits for it; called once at shutdown.
    async fn stop(&self);
}

/// A module whose configuration has been validated, ready to be mounted.
pub trait LoadedModule: Send {
    fn key(&self) -> &'static str;
    fn is_enabled(&self) -> bool;
    /// Manages the module, attaches its fairing and mounts its routes; returns its OpenAPI
    /// with paths relative to the mount point, and that mount point.
    fn mount(
        self: Box<Self>,
        rocket: Rocket<Build>,
        settings: &OpenApiSettings,
    ) -> (Rocket<Build>, &'static str, OpenApi);
}

/// A validated module, or every problem found in its section.
pub type ModuleLoad = Result<Box<dyn LoadedModule>, Vec<ConfigProblem>>;

/// The const registration record of a module: names and fn pointers only, because
/// `inventory` items must be const.
pub struct ModuleDescriptor {
    pub key: &'static str,
    /// JSON Schema of the module's config section.
    pub config_schema: fn(&mut SchemaGenerator) -> Schema,
    /// Parses and validates the section (`{}` when absent).
    pub load: fn(serde_json::Value) -> ModuleLoad,
}

inventory::collect!(ModuleDescriptor);

impl ModuleDescriptor {
    pub const fn of<M: Module>() -> Self {
        Self {
            key: M::KEY,
            config_schema: config_schema::<M>,
            load: load::<M>,
        }
    }

    /// Every registered module, sorted by key.
    pub fn all() -> Vec<&'static ModuleDescriptor> {
        let mut all: Vec<_> = inventory::iter::<ModuleDescriptor>.into_iter().collect();
        all.sort_by_key(|m| m.key);
        all
    }
}

fn config_schema<M: Module>(gen: &mut SchemaGenerator) -> Schema {
    gen.subschema_for::<M::Config>()
}

fn load<M: Module>(section: serde_json::Value) -> ModuleLoad {
    let config: M::Config = crate::config_section::read_section(section, M::validate)?;
    let enabled = M::is_enabled(&config);
    Ok(Box::new(Loaded::<M> { config, enabled }))
}

struct Loaded<M: Module> {
    config: M::Config,
    enabled: bool,
}

impl<M: Module> LoadedModule for Loaded<M> {
    fn key(&self) -> &'static str {
        M::KEY
    }

    fn is_enabled(&self) -> bool {
        self.enabled
    }

    fn mount(
        self: Box<Self>,
        rocket: Rocket<Build>,
        settings: &OpenApiSettings,
    ) -> (Rocket<Build>, &'static str, OpenApi) {
        let (routes, spec) = M::routes(settings);
        let module = M::new(self.config);
        let rocket = module
            .on_build(rocket)
            .manage(module)
            .attach(ModuleFairing::<M>(PhantomData))
            .mount(M::MOUNT, routes);
        (rocket, M::MOUNT, spec)
    }
}

/// Drives a module's lifecycle: work starts at liftoff and stops at shutdown.
struct ModuleFairing<M>(PhantomData<fn() -> M>);

#[rocket::async_trait]
impl<M: Module> Fairing for ModuleFairing<M> {
    fn info(&self) -> Info {
        Info {
            name: M::KEY,
            kind: Kind::Liftoff | Kind::Shutdown | Kind::Singleton,
        }
    }

    async fn on_liftoff(&self, rocket: &Rocket<Orbit>) {
        if let Some(module) = rocket.state::<M>() {
            log::info!(target: "calendula::modules", "module {} starting", M::KEY);
            module.start(rocket).await;
        }
    }

    async fn on_shutdown(&self, rocket: &Rocket<Orbit>) {
        if let Some(module) = rocket.state::<M>() {
            if let Some(in_flight) = rocket.state::<InFlightRequests>() {
                let grace = Duration::from_secs(rocket.config().shutdown.grace.into());
                in_flight.drained(grace).await;
            }
            module.stop().await;
            log::info!(target: "calendula::modules", "module {} stopped", M::KEY);
        }
    }
}
