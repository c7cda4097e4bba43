//! The root's HTTP resources, one file each. Handlers are thin: parse, call the database
//! layer and the pure domain code, shape the JSON.

use calendula_core::error::with_documented_errors;
use rocket::Route;
use rocket_okapi::okapi::openapi3::OpenApi;
use rocket_okapi::openapi_get_routes_spec;
use rocket_okapi::settings::OpenApiSettings;

pub mod events;
pub mod funcs;
pub mod health;
mod params;
pub mod users;

/// The error statuses each operation answers besides 500 (OpenAPI operation ids: file and
/// handler name). 503 wherever the database is used; 401/403 only where sessions are
/// checked (writes other than sign-up).
const ERRORS: &[(&str, &[u16])] = &[
    ("health_ready", &[503]),
    ("users_create_user", &[400, 408, 409, 422, 503]),
    ("users_get_user", &[404, 503]),
    ("users_list_user_events", &[400, 404, 422, 503]),
    ("events_create_event", &[400, 401, 403, 408, 422, 503]),
    ("events_get_event", &[404, 503]),
    ("events_accept_event", &[400, 401, 403, 404, 422, 503]),
    ("events_delete_event", &[401, 403, 404, 503]),
    ("funcs_calc_free_slot", &[400, 408, 422, 503]),
    ("funcs_free_busy", &[400, 408, 422, 503]),
];

/// The root's routes with their OpenAPI.
pub fn routes(settings: &OpenApiSettings) -> (Vec<Route>, OpenApi) {
    with_documented_errors(openapi_routes(settings), ERRORS)
}

fn openapi_routes(settings: &OpenApiSettings) -> (Vec<Route>, OpenApi) {
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
        events::delete_event,
        funcs::calc_free_slot,
        funcs::free_busy,
    ]
}

#[cfg(test)]
mod tests {
    use calendula_core::error::narrow_documented_errors;

    use super::*;

    #[test]
    fn every_operation_lists_the_errors_it_answers() {
        let (_, mut spec) = openapi_routes(&OpenApiSettings::default());
        assert_eq!(
            narrow_documented_errors(&mut spec, ERRORS),
            Vec::<String>::new()
        );
    }
}
