//! Who is busy when: the database fetch for `/funcs/*`, feeding the pure free-time code.
//! One query per window for all users; recurrence expansion and interval arithmetic in memory.

use std::collections::HashMap;

use calendula_core::validate;
use calendula_core::{ApiError, ApiResult};
use calendula_db::events;
use calendula_db::users::UserRow;
use calendula_time::freeslot;
use calendula_time::intervals::{self, Interval};
use chrono::{DateTime, Duration, Utc};
use diesel_async::AsyncPgConnection;

/// The first window searched; it doubles until enough slots are found or the horizon ends,
/// so a slot tomorrow costs one small query and one in eleven months a handful.
const FIRST_WINDOW: Duration = Duration::days(7);

/// Each user's busy intervals (event occurrences they have not declined) within `window`,
/// merged, sorted and clipped. More than `budget` occurrences for one user is a 422: the
/// cost of an answer must stay bounded whatever the calendars hold.
pub async fn busy_by_user(
    conn: &mut AsyncPgConnection,
    users: &[UserRow],
    window: Interval,
    budget: usize,
) -> ApiResult<HashMap<i64, Vec<Interval>>> {
    let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    let members = events::in_window(conn, &ids, window.start, window.end, true).await?;
    let mut raw: HashMap<i64, Vec<Interval>> = HashMap::new();
    for member in members {
        let list = raw.entry(member.user_id).or_default();
        let series = member.event.series();
        let room = (budget + 1).saturating_sub(list.len());
        list.extend(
            series
                .overlapping(window.start, window.end)
                .take(room)
                .map(|o| Interval::new(o.start, o.end)),
        );
        if list.len() > budget {
            let login = users
                .iter()
                .find(|u| u.id == member.user_id)
                .map_or("?", |u| u.login.as_str());
            return Err(ApiError::invalid(
                "user_logins",
                format!("{login:?} has more than {budget} occurrences in the window; ask for a shorter one"),
            ));
        }
    }
    Ok(raw
        .into_iter()
        .map(|(id, list)| (id, intervals::clip(&intervals::merge(list), window)))
        .collect())
}

/// When `user` is outside working hours within `window` (nothing without `work_days`).
pub fn off_hours(user: &UserRow, window: Interval) -> Vec<Interval> {
    user.work_days()
        .map(|days| validate::work_hours(&days).off_hours(user.tz(), window))
        .unwrap_or_default()
}

/// Up to `limit` earliest non-overlapping slots of `duration` in `[from, until)` free for all `users`.
pub async fn free_slots(
    conn: &mut AsyncPgConnection,
    users: &[UserRow],
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    duration: Duration,
    limit: usize,
    budget: usize,
) -> ApiResult<Vec<Interval>> {
    let mut span = FIRST_WINDOW.max(duration * 2);
    loop {
        let window_end = if until - from <= span {
            until
        } else {
            from + span
        };
        let window = Interval::new(from, window_end);
        let busy_events = busy_by_user(conn, users, window, budget).await?;
        let busy = intervals::merge(
            busy_events
                .into_values()
                .flatten()
                .chain(users.iter().flat_map(|u| off_hours(u, window))),
        );
        let slots = freeslot::free_slots(&busy, from, window_end, duration, limit);
        if slots.len() >= limit || window_end == until {
            return Ok(slots);
        }
        span = span * 2;
    }
}
