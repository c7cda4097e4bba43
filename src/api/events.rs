//! `POST /event/`, `GET /event/{id}`, `POST /event/{id}/accept`.

use calendula_core::models::{Decision, Event, NewEvent};
use calendula_core::{validate, ApiError, ApiResult, JsonBody};
use calendula_db::{events, users, ReadConn, WriteConn};
use rocket::response::status::Created;
use rocket::serde::json::Json;
use rocket::{get, post};
use rocket_okapi::openapi;

use super::params;

/// Create an event with its participants and reminders, atomically. Times without an offset
/// are wall times in the event's zone (default: the author's).
#[openapi(tag = "Events")]
#[post("/event", data = "<body>")]
pub async fn create_event(
    mut conn: WriteConn,
    body: JsonBody<NewEvent>,
) -> ApiResult<Created<Json<Event>>> {
    let event = body.0;
    let author_login = event
        .author_login
        .clone()
        .ok_or_else(|| ApiError::invalid("author_login", "author_login is required"))?;
    validate::login("author_login", &author_login)?;
    let author = users::find_by_login(&mut conn, &author_login)
        .await?
        .ok_or_else(|| ApiError::unknown_logins("author_login", vec![author_login.clone()]))?;
    let tz = validate::event_timezone(&event, author.tz())?;
    let valid = validate::new_event(&event, tz)?;
    let logins: Vec<String> = valid
        .participants
        .iter()
        .map(|(login, _)| login.clone())
        .collect();
    let rows = users::resolve_logins(&mut conn, "participants", &logins).await?;
    let members: Vec<_> = rows
        .into_iter()
        .zip(valid.participants.iter().map(|(_, d)| *d))
        .collect();
    let id = events::insert(&mut conn, &author, &valid, &members).await?;
    let created = events::get_details(&mut conn, id).await?;
    Ok(Created::new(format!("/event/{id}")).body(Json(created.to_model(None))))
}

/// One event with participants, reminders and repetition.
#[openapi(tag = "Events")]
#[get("/event/<id>")]
pub async fn get_event(mut conn: ReadConn, id: &str) -> ApiResult<Json<Event>> {
    let id = params::id("event", id)?;
    Ok(Json(
        events::get_details(&mut conn, id).await?.to_model(None),
    ))
}

/// A participant answers an invitation: `decision` is yes, maybe, no or undecided.
#[openapi(tag = "Events")]
#[post("/event/<id>/accept?<user_login>&<decision>")]
pub async fn accept_event(
    mut conn: WriteConn,
    id: &str,
    user_login: Option<&str>,
    decision: Option<&str>,
) -> ApiResult<Json<Event>> {
    let id = params::id("event", id)?;
    let login = params::required("user_login", user_login)?;
    let decision = params::required("decision", decision)?;
    let decision = Decision::parse(decision).ok_or_else(|| {
        ApiError::bad_request(
            Some("decision"),
            format!("invalid decision {decision:?}, expected yes, maybe, no or undecided"),
        )
    })?;
    let event = events::find(&mut conn, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no event {id}")))?;
    let user = users::find_by_login(&mut conn, login)
        .await?
        .ok_or_else(|| ApiError::unknown_logins("user_login", vec![login.to_owned()]))?;
    events::set_decision(&mut conn, &event, &user, decision).await?;
    Ok(Json(
        events::get_details(&mut conn, id).await?.to_model(None),
    ))
}
