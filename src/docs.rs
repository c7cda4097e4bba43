//! One OpenAPI document for the root's and every module's routes, at `/openapi.json`, and
//! Swagger UI at `/docs`.

use rocket::{Build, Rocket};
use rocket_okapi::okapi::merge::merge_specs;
use rocket_okapi::okapi::openapi3::OpenApi;
use rocket_okapi::settings::OpenApiSettings;
use rocket_okapi::swagger_ui::{make_swagger_ui, SwaggerUIConfig};

/// Merges `parts` (mount point, spec with paths relative to it) into one document.
pub fn merge(parts: Vec<(&'static str, OpenApi)>) -> Result<OpenApi, String> {
    let mut spec = OpenApi::new();
    for (mount, part) in &parts {
        let prefix = if *mount == "/" { "" } else { mount };
        merge_specs(&mut spec, &prefix, part)
            .map_err(|e| format!("cannot merge the OpenAPI of {mount}: {e}"))?;
    }
    // A module's route `/` mounted at `/auth` is served at `/auth` (as every path, with or
    // without the trailing slash); document it the way the root's paths are.
    spec.paths = std::mem::take(&mut spec.paths)
        .into_iter()
        .map(|(path, item)| match path.strip_suffix('/') {
            Some(trimmed) if !trimmed.is_empty() => (trimmed.to_owned(), item),
            _ => (path, item),
        })
        .collect();
    calendula_db::current_user::document_session_header(&mut spec);
    spec.info.title = "Calendula".into();
    spec.info.version = env!("CARGO_PKG_VERSION").into();
    spec.info.description =
        Some("A calendar backend: people, meetings, recurrence, free slots, reminders.".into());
    Ok(spec)
}

pub fn mount(rocket: Rocket<Build>, spec: OpenApi, settings: &OpenApiSettings) -> Rocket<Build> {
    let swagger = SwaggerUIConfig {
        url: "/openapi.json".into(),
        ..Default::default()
    };
    rocket
        .mount("/", vec![rocket_okapi::get_openapi_route(spec, settings)])
        .mount("/docs", make_swagger_ui(&swagger))
}
