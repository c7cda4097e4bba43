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

/// The first window searched. A slot within it costs one small query; otherwise the rest of
/// the horizon is searched in one more: each query has a fixed cost per user (two index
/// scans) that dwarfs what a longer window adds, so growing windows step by step costs more.
const FIRST_WINDOW: Duration = Duration::days(7);

/// Each user's busy intervals (event occurrences they have not declined) within `window`,
/// merged, sorted and clipped.
pub async fn busy_by_user(
    conn: &mut AsyncPgConnection,
    users: &[UserRow],
    window: Interval,
    budget: usize,
) -> ApiResult<HashMap<i64, Vec<Interval>>> {
    let busy = BusyEvents::load(conn, users, window, budget)
        .await?
        .map_err(|over| over.error(users, budget))?;
    let mut by_user: HashMap<i64, Vec<Interval>> = HashMap::new();
    for (user_id, event_id) in &busy.members {
        let list = by_user.entry(*user_id).or_default();
        list.extend_from_slice(&busy.occurrences[event_id]);
    }
    Ok(by_user
        .into_iter()
        .map(|(id, list)| (id, intervals::clip(&intervals::merge(list), window)))
        .collect())
}

/// The events that make some of a group of users busy within a window, each expanded once
/// however many of the users share it.
struct BusyEvents {
    /// Event id → its occurrences overlapping the window (unclipped).
    occurrences: HashMap<i64, Vec<Interval>>,
    /// (user id, event id) for every event each user is busy with.
    members: Vec<(i64, i64)>,
}

/// One user has more than the budget of busy occurrences in a window: the cost of one
/// window must stay bounded whatever the calendars hold.
struct OverBudget {
    user_id: i64,
}

impl OverBudget {
    fn error(&self, users: &[UserRow], budget: usize) -> ApiError {
        let login = users
            .iter()
            .find(|u| u.id == self.user_id)
            .map_or("?", |u| u.login.as_str());
        ApiError::invalid(
            "user_logins",
            format!(
                "{login:?} has more than {budget} occurrences in the window; ask for a shorter one"
            ),
        )
    }
}

impl BusyEvents {
    async fn load(
        conn: &mut AsyncPgConnection,
        users: &[UserRow],
        window: Interval,
        budget: usize,
    ) -> ApiResult<Result<Self, OverBudget>> {
        let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
        let rows = events::busy_in_window(conn, &ids, window.start, window.end).await?;
        let mut occurrences: HashMap<i64, Vec<Interval>> = HashMap::new();
        let mut per_user: HashMap<i64, usize> = HashMap::new();
        let mut members = Vec::with_capacity(rows.len());
        for row in rows {
            let list = occurrences.entry(row.event_id).or_insert_with(|| {
                let series = row.timing.series();
                let expanded = series.overlapping(window.start, window.end);
                expanded
                    .take(budget + 1)
                    .map(|o| Interval::new(o.start, o.end))
                    .collect()
            });
            let count = per_user.entry(row.user_id).or_default();
            *count += list.len();
            if *count > budget {
                return Ok(Err(OverBudget {
                    user_id: row.user_id,
                }));
            }
            members.push((row.user_id, row.event_id));
        }
        Ok(Ok(Self {
            occurrences,
            members,
        }))
    }

    /// Every occurrence, whoever it keeps busy.
    fn all(self) -> impl Iterator<Item = Interval> {
        self.occurrences.into_values().flatten()
    }
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
    let mut slots = Vec::new();
    let mut start = from;
    let mut span = FIRST_WINDOW.max(duration * 2);
    // Set once a window held more occurrences than the budget: from then on the search
    // goes on in windows of the length that fitted.
    let mut shrunk = false;
    loop {
        let window = Interval::new(start, end_after(start, span, until));
        let wanted = limit - slots.len();
        match slots_in(conn, users, window, duration, wanted, budget).await? {
            Ok(found) => slots.extend(found),
            Err(_) if window.duration() / 2 > duration => {
                span = window.duration() / 2;
                shrunk = true;
                continue;
            }
            Err(over) => return Err(over.error(users, budget)),
        }
        if slots.len() >= limit || window.end == until {
            return Ok(slots);
        }
        // Every slot that fits before the window's end has been found: the next one starts
        // after the last found, and no earlier than `duration` before the window's end.
        start = slots
            .last()
            .map_or(window.start, |s| s.end)
            .max(window.end - duration);
        if !shrunk {
            span = until - start;
        }
    }
}

fn end_after(from: DateTime<Utc>, span: Duration, until: DateTime<Utc>) -> DateTime<Utc> {
    from.checked_add_signed(span)
        .map_or(until, |end| end.min(until))
}

/// Up to `limit` earliest slots in `window`. Working hours need no database: where they
/// leave no room for a slot there is no query, and the query starts at the first slot
/// they allow.
async fn slots_in(
    conn: &mut AsyncPgConnection,
    users: &[UserRow],
    window: Interval,
    duration: Duration,
    limit: usize,
    budget: usize,
) -> ApiResult<Result<Vec<Interval>, OverBudget>> {
    let off = intervals::merge(users.iter().flat_map(|u| off_hours(u, window)));
    let Some(first) = freeslot::free_slots(&off, window.start, window.end, duration, 1).pop()
    else {
        return Ok(Ok(Vec::new()));
    };
    let window = Interval::new(first.start, window.end);
    let events = match BusyEvents::load(conn, users, window, budget).await? {
        Ok(events) => events,
        Err(over) => return Ok(Err(over)),
    };
    let busy = intervals::merge(off.into_iter().chain(events.all()));
    Ok(Ok(freeslot::free_slots(
        &busy,
        window.start,
        window.end,
        duration,
        limit,
    )))
}
