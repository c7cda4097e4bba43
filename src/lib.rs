//! Calendula's composition root: configuration, logging, the database, the modules and the
//! HTTP routes put together into one Rocket server.

// Linking the module crates is what registers them (`inventory`): a crate nothing
// references is not linked and its module silently disappears.
use calendula_auth as _;
use calendula_notificator as _;

pub mod api;
pub mod availability;
pub mod config;
pub mod database;
pub mod docs;
pub mod http;
pub mod logging;
pub mod server_config;
pub mod stop;

use calendula_core::in_flight::CountInFlight;
use calendula_db::Db;
use rocket::figment::Figment;
use rocket::{catchers, Build, Rocket};
use rocket_okapi::settings::OpenApiSettings;

pub use config::Config;

/// The server, ready to launch: `figment` carries Rocket.toml plus CLI overrides.
pub fn build_rocket(config: Config, db: Db, figment: Figment) -> Result<Rocket<Build>, String> {
    let settings = OpenApiSettings::default();
    let (routes, root_spec) = api::routes(&settings);
    let mut rocket = rocket::custom(figment)
        .attach(http::RequestLog)
        .attach(CountInFlight)
        .attach(http::TrailingSlash)
        .attach(http::LargeBodyChunks)
        .attach(calendula_db::ReadYourWrites)
        .manage(db.recheck_hosts())
        .manage(db)
        .manage(calendula_core::body::BodyTimeout(
            config.limits.body_timeout.get(),
        ))
        .manage(config.limits)
        .manage(calendula_core::metrics::MetricsRegistry::default())
        .mount("/", routes)
        .register("/", catchers![http::json_catcher]);
    let mut specs = vec![("/", root_spec)];
    for module in config.modules.into_iter().filter(|m| m.is_enabled()) {
        let (next, mount, spec) = module.mount(rocket, &settings);
        rocket = next;
        specs.push((mount, spec));
    }
    let spec = docs::merge(specs)?;
    Ok(docs::mount(rocket, spec, &settings))
}
