//! `POST /funcs/calc_free_slot` and `POST /funcs/free_busy`.

use calendula_core::models::{
    last_writable_instant, output_time, FreeBusy, FreeBusyRequest, FreeSlotRequest, FreeTime,
    TimeSpan, UserFreeBusy,
};
use calendula_core::validate::{self, MAX_SLOTS, MAX_USERS};
use calendula_core::{ApiError, ApiResult, JsonBody};
use calendula_db::users::{self, UserRow};
use calendula_db::ReadConn;
use calendula_time::intervals::Interval;
use chrono::Duration;
use chrono_tz::Tz;
use diesel_async::AsyncPgConnection;
use rocket::serde::json::Json;
use rocket::{post, State};
use rocket_okapi::openapi;

use crate::availability;
use crate::config::LimitsConfig;

const DEFAULT_HORIZON: Duration = Duration::days(365);
/// The longest search or free/busy window: its cost grows with its length.
const MAX_HORIZON: Duration = Duration::days(5 * 366);

/// The earliest time all `user_logins` are free for `event_duration`: outside their events
/// (unless declined) and inside their working hours.
#[openapi(tag = "Scheduling")]
#[post("/funcs/calc_free_slot", data = "<body>")]
pub async fn calc_free_slot(
    mut conn: ReadConn,
    limits: &State<LimitsConfig>,
    body: JsonBody<FreeSlotRequest>,
) -> ApiResult<Json<FreeTime>> {
    let request = body.0;
    let duration = request.event_duration.0;
    if duration <= Duration::zero() {
        return Err(ApiError::invalid(
            "event_duration",
            "event_duration must be > 0",
        ));
    }
    let limit = request.limit.unwrap_or(1);
    if !(1..=MAX_SLOTS).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            format!("limit must be 1..{MAX_SLOTS}"),
        ));
    }
    let from = request
        .start_calc_from
        .resolve(Tz::UTC, "start_calc_from")?;
    let until = match request.search_until {
        Some(until) => until.resolve(Tz::UTC, "search_until")?,
        None => from + DEFAULT_HORIZON,
    }
    .min(last_writable_instant());
    // Without `search_until`, only `start_calc_from` can leave no room to search.
    let field = match request.search_until {
        Some(_) => "search_until",
        None => "start_calc_from",
    };
    validate::window(field, from, until, Some(MAX_HORIZON))?;
    let users = load_users(&mut conn, &request.user_logins).await?;
    let slots = availability::free_slots(
        &mut conn,
        &users,
        from,
        until,
        duration,
        limit as usize,
        budget(limits),
    )
    .await?;
    let first = slots.first();
    Ok(Json(FreeTime {
        start: first.map(|s| output_time(s.start, Tz::UTC)),
        end: first.map(|s| output_time(s.end, Tz::UTC)),
        slots: (limit > 1).then(|| slots.iter().map(|s| span(*s, Tz::UTC)).collect()),
    }))
}

/// Per user, when they are busy and when they are off work within `[time_from, time_to)`.
#[openapi(tag = "Scheduling")]
#[post("/funcs/free_busy", data = "<body>")]
pub async fn free_busy(
    mut conn: ReadConn,
    limits: &State<LimitsConfig>,
    body: JsonBody<FreeBusyRequest>,
) -> ApiResult<Json<FreeBusy>> {
    let request = body.0;
    let from = request.time_from.resolve(Tz::UTC, "time_from")?;
    let to = request.time_to.resolve(Tz::UTC, "time_to")?;
    validate::window("time_to", from, to, Some(MAX_HORIZON))?;
    let users = load_users(&mut conn, &request.user_logins).await?;
    let window = Interval::new(from, to);
    let mut busy = availability::busy_by_user(&mut conn, &users, window, budget(limits)).await?;
    let answer = users
        .iter()
        .map(|user| {
            let tz = user.tz();
            let spans = |list: Vec<Interval>| list.into_iter().map(|i| span(i, tz)).collect();
            let entry = UserFreeBusy {
                busy: spans(busy.remove(&user.id).unwrap_or_default()),
                off_hours: spans(availability::off_hours(user, window)),
            };
            (user.login.clone(), entry)
        })
        .collect();
    Ok(Json(answer))
}

/// Occurrences one user may contribute to an answer.
fn budget(limits: &LimitsConfig) -> usize {
    limits.max_occurrences as usize
}

fn span(interval: Interval, tz: Tz) -> TimeSpan {
    TimeSpan {
        start: output_time(interval.start, tz),
        end: output_time(interval.end, tz),
    }
}

/// The users named in `logins` (duplicates ignored), or a 422 listing the unknown ones.
async fn load_users(conn: &mut AsyncPgConnection, logins: &[String]) -> ApiResult<Vec<UserRow>> {
    let out_of_range = || {
        ApiError::invalid(
            "user_logins",
            format!("give 1..{MAX_USERS} distinct logins"),
        )
    };
    if logins.is_empty() {
        return Err(out_of_range());
    }
    let mut unique: Vec<String> = Vec::with_capacity(logins.len().min(MAX_USERS));
    for (i, login) in logins.iter().enumerate() {
        validate::login(&format!("user_logins[{i}]"), login)?;
        if !unique.contains(login) {
            if unique.len() == MAX_USERS {
                return Err(out_of_range());
            }
            unique.push(login.clone());
        }
    }
    users::resolve_logins(conn, "user_logins", &unique).await
}
