//! The root's HTTP resources, one file each. Handlers are thin: parse, call the database
//! layer and the pure domain code, shape the JSON.

use rocket::Route;
use rocket_okapi::okapi::openapi3::OpenApi;
use rocket_okapi::openapi_get_routes_spec;
use rocket_okapi::settings::OpenApiSettings;

pub mod events;
pub mod funcs;
pub mod health;
mod params;
pub mod users;

/// The root's routes with their OpenAPI.
pub fn routes(settings: &OpenApiSettings) -> (Vec<Route>, OpenApi) {
    openapi_get_routes_spec![settings:
        health::health,
        health::ready,
        health::metrics,
        users::create_user,
        users::get_user,
        users::list_user_events,
        events::create_event,
        events::get_event,
        events::accept_event,
        funcs::calc_free_slot,
        funcs::free_busy,
    ]
}
