//! `POST /event/`, `GET /event/{id}`, `POST /event/{id}/accept`, `DELETE /event/{id}`.
//!
//! When the auth module enforces sessions ([`Writer`] answers 401 without one): an event is
//! created and deleted by the session's user only, an invitation is answered by the invited
//! user only (403 otherwise), and callers who are not members of an event see a busy block.

use calendula_core::models::{Decision, Event, NewEvent};
use calendula_core::query::required;
use calendula_core::{validate, ApiError, ApiResult, JsonBody, OptionalQuery, Query};
use calendula_db::{events, users, CurrentUser, ReadConn, WriteConn, Writer};
use diesel_async::AsyncPgConnection;
use rocket::response::status::{Created, NoContent};
use rocket::serde::json::Json;
use rocket::{delete, get, post};
use rocket_okapi::openapi;

use super::params;

/// Whose event is created: `author_login`, or the session's user when it is omitted. When
/// sessions are enforced, `author_login` must be the session's user.
fn author_login(writer: &Writer, given: Option<String>) -> ApiResult<String> {
    match (given, writer.user()) {
        (Some(given), Some(own)) if writer.policy.enforce && given != own.login => {
            Err(ApiError::forbidden(format!(
                "author_login must be the session's user {:?} (or omitted)",
                own.login
            )))
        }
        (Some(given), _) => Ok(given),
        (None, Some(own)) => Ok(own.login.clone()),
        (None, None) => Err(ApiError::invalid(
            "author_login",
            "author_login is required",
        )),
    }
}

/// Who answers an invitation: `user_login`, or the session's user when it is omitted. When
/// sessions are enforced, only the session's user answers for themself.
fn answering_login(writer: &Writer, given: Option<&str>) -> ApiResult<String> {
    match (given, writer.user()) {
        (Some(given), Some(own)) if writer.policy.enforce && given != own.login => {
            Err(ApiError::forbidden(format!(
                "only a participant answers for themself: user_login must be {:?} (or omitted)",
                own.login
            )))
        }
        (Some(given), _) => Ok(given.to_owned()),
        (None, Some(own)) => Ok(own.login.clone()),
        (None, None) => required("user_login", &[]).map(str::to_owned),
    }
}

/// Create an event with its participants and reminders, atomically. Times without an offset
/// are wall times in the event's zone (default: the author's). `author_login` may be omitted
/// when a session is presented (the session's user is the author).
#[openapi(tag = "Events")]
#[post("/event", data = "<body>")]
pub async fn create_event(
    writer: Writer,
    mut conn: WriteConn,
    body: JsonBody<NewEvent>,
) -> ApiResult<Created<Json<Event>>> {
    let event = body.0;
    let author_login = author_login(&writer, event.author_login.clone())?;
    validate::login("author_login", &author_login)?;
    let Some(author) = users::find_by_login(&mut conn, &author_login).await? else {
        return Err(unknown_author(&mut conn, author_login, &event).await);
    };
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
    Ok(Created::new(format!("/event/{id}")).body(Json(created.to_model())))
}

/// The 422 for an unknown author. It lists the unknown participants too, so that one answer
/// names every login to fix.
async fn unknown_author(
    conn: &mut AsyncPgConnection,
    author_login: String,
    event: &NewEvent,
) -> ApiError {
    let mut logins = vec![author_login.clone()];
    for participant in &event.participants {
        let login = &participant.user.login;
        if validate::is_login(login) && !logins.contains(login) {
            logins.push(login.clone());
        }
    }
    match users::resolve_logins(conn, "author_login", &logins).await {
        Err(error) => error,
        // Created in the meantime: the author alone was unknown when looked up.
        Ok(_) => ApiError::unknown_logins("author_login", vec![author_login]),
    }
}

/// One event with participants, reminders and repetition. When the auth module enforces
/// sessions, a caller who is not a member of the event sees a busy block without details.
#[openapi(tag = "Events")]
#[get("/event/<id>")]
pub async fn get_event(
    caller: CurrentUser,
    mut conn: ReadConn,
    id: &str,
) -> ApiResult<Json<Event>> {
    let id = params::id("event", id)?;
    let details = events::get_details(&mut conn, id).await?;
    let model = details.to_model();
    Ok(Json(if caller.sees_details_of(&details) {
        model
    } else {
        model.busy_block()
    }))
}

/// A participant answers an invitation: `decision` is yes, maybe, no or undecided.
/// `user_login` may be omitted when a session is presented (the session's user answers).
#[openapi(tag = "Events")]
#[post("/event/<id>/accept?<user_login>&<decision>")]
pub async fn accept_event(
    writer: Writer,
    mut conn: WriteConn,
    id: &str,
    user_login: OptionalQuery<'_, String>,
    decision: Query<'_, Decision>,
) -> ApiResult<Json<Event>> {
    let id = params::id("event", id)?;
    let login = answering_login(&writer, user_login.get("user_login")?)?;
    let login = login.as_str();
    let decision = decision.get("decision")?;
    let decision = Decision::parse(decision).ok_or_else(|| {
        ApiError::bad_request(
            Some("decision"),
            format!("invalid decision {decision:?}, expected yes, maybe, no or undecided"),
        )
    })?;
    // An unknown event is a 404 before an unknown user is a 422.
    if events::find(&mut conn, id).await?.is_none() {
        return Err(events::no_event(id));
    }
    let user = users::find_by_login(&mut conn, login)
        .await?
        .ok_or_else(|| ApiError::unknown_logins("user_login", vec![login.to_owned()]))?;
    events::set_decision(&mut conn, id, &user, decision).await?;
    Ok(Json(events::get_details(&mut conn, id).await?.to_model()))
}

/// Delete an event with its participants and reminders (those not taken for sending yet are
/// not sent).
/// When the auth module enforces sessions, only the event's author deletes it.
#[openapi(tag = "Events")]
#[delete("/event/<id>")]
pub async fn delete_event(writer: Writer, mut conn: WriteConn, id: &str) -> ApiResult<NoContent> {
    let id = params::id("event", id)?;
    if writer.policy.enforce {
        let event = events::find(&mut conn, id)
            .await?
            .ok_or_else(|| events::no_event(id))?;
        if writer.user().map(|u| u.id) != Some(event.author_id) {
            return Err(ApiError::forbidden(format!(
                "only the author of event {id} deletes it"
            )));
        }
    }
    if !events::delete(&mut conn, id).await? {
        return Err(events::no_event(id));
    }
    Ok(NoContent)
}
