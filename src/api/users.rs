//! `POST /users/`, `GET /users/{login}`, `GET /users/{login}/events`.

use std::collections::{HashMap, HashSet};

use calendula_core::models::{
    last_writable_instant, output_time, EventList, InputDateTime, NewUser, RenderedEvent, UserFull,
};
use calendula_core::{password, validate, ApiError, ApiResult, AuthPolicy, JsonBody, Query};
use calendula_db::events::{self, EventDetails, EventRow};
use calendula_db::{users, CurrentUser, ReadConn, WriteConn};
use calendula_time::recurrence::Occurrence;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rocket::response::status::Created;
use rocket::serde::json::Json;
use rocket::{get, post, State};
use rocket_okapi::openapi;

use super::params;
use crate::config::LimitsConfig;

/// Create a user (sign-up: open to anyone, even when the auth module enforces sessions).
/// With `modules.auth.require_passwords`, `password` is required.
#[openapi(tag = "Users")]
#[post("/users", data = "<body>")]
pub async fn create_user(
    policy: AuthPolicy,
    mut conn: WriteConn,
    body: JsonBody<NewUser>,
) -> ApiResult<Created<Json<UserFull>>> {
    let user = body.0;
    let valid = validate::new_user(&user)?;
    if policy.require_passwords && user.password.is_none() {
        return Err(ApiError::invalid(
            "password",
            "a password is required (modules.auth.require_passwords)",
        ));
    }
    let hash = match &user.password {
        Some(clear) => {
            let clear = clear.clone();
            let hashed = rocket::tokio::task::spawn_blocking(move || password::hash(&clear))
                .await
                .map_err(ApiError::internal)?;
            Some(hashed.map_err(ApiError::internal)?)
        }
        None => None,
    };
    let row = users::insert(&mut conn, &user, valid.timezone.name(), hash.as_deref()).await?;
    Ok(Created::new(format!("/users/{}", row.login)).body(Json(row.full())))
}

/// One user.
#[openapi(tag = "Users")]
#[get("/users/<login>")]
pub async fn get_user(mut conn: ReadConn, login: &str) -> ApiResult<Json<UserFull>> {
    Ok(Json(users::get_by_login(&mut conn, login).await?.full()))
}

/// The user's event occurrences overlapping `[time_from, time_to)`, sorted by start then id.
/// Times without an offset are wall times in the user's zone. When the auth module enforces
/// sessions, events the caller is not a member of are busy blocks without details.
#[openapi(tag = "Users")]
#[get("/users/<login>/events?<time_from>&<time_to>")]
pub async fn list_user_events(
    caller: CurrentUser,
    mut conn: ReadConn,
    limits: &State<LimitsConfig>,
    login: &str,
    time_from: Query<'_, InputDateTime>,
    time_to: Query<'_, InputDateTime>,
) -> ApiResult<EventList> {
    let user = users::get_by_login(&mut conn, login).await?;
    let from = params::datetime("time_from", &time_from)?.resolve(user.tz(), "time_from")?;
    let to = params::datetime("time_to", &time_to)?.resolve(user.tz(), "time_to")?;
    validate::window("time_to", from, to, None)?;
    let max = limits.max_occurrences as usize;
    // Participants and reminders only for the events that occur in the window: the index
    // query also returns series whose span overlaps it without an occurrence inside.
    let (occurrences, details) =
        events::in_window_with_details(&mut conn, user.id, from, to, |rows| {
            let occurrences = expand(rows, from, to, max)?;
            let occurring: HashSet<i64> = occurrences.iter().map(|(id, _)| *id).collect();
            Ok((occurrences, occurring))
        })
        .await?;
    let rendered = render_for(&caller, &details)?;
    let mut list = EventList::new();
    for (id, occurrence) in occurrences {
        let (event, tz) = rendered
            .get(&id)
            .ok_or_else(|| ApiError::internal(format!("event {id} vanished")))?;
        list.push(
            event,
            output_time(occurrence.start, *tz),
            output_time(occurrence.end, *tz),
        );
    }
    Ok(list)
}

/// Each event rendered once, as `caller` may see it, to be written per occurrence; with
/// the zone its occurrence times are written in.
fn render_for(
    caller: &CurrentUser,
    events: &[EventDetails],
) -> ApiResult<HashMap<i64, (RenderedEvent, Tz)>> {
    events
        .iter()
        .map(|event| {
            let model = event.to_model();
            let model = if caller.sees_details_of(event) {
                model
            } else {
                model.busy_block()
            };
            Ok((event.row.id, (RenderedEvent::new(&model)?, event.row.tz())))
        })
        .collect::<serde_json::Result<_>>()
        .map_err(ApiError::internal)
}

/// Every occurrence of `events` overlapping the window as (event id, occurrence), sorted
/// by start then id; a 422 when there are more than `max`. A series ends with year 9999:
/// an occurrence that would end later cannot be written in RFC 3339.
fn expand(
    events: &[EventRow],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    max: usize,
) -> ApiResult<Vec<(i64, Occurrence)>> {
    let mut all = Vec::new();
    let last = last_writable_instant();
    for event in events {
        let series = event.series();
        let occurrences = series.overlapping(from, to);
        for occurrence in occurrences.take_while(|o| o.end <= last) {
            if all.len() == max {
                return Err(ApiError::invalid(
                    "time_to",
                    format!("more than {max} occurrences in the window; ask for a smaller window"),
                ));
            }
            all.push((event.id, occurrence));
        }
    }
    all.sort_by_key(|(id, occurrence)| (occurrence.start, *id));
    Ok(all)
}
