//! Who is busy when: the database fetch for `/funcs/*`, feeding the pure free-time code.
//! One query per window for all users; recurrence expansion and interval arithmetic in memory.

use std::collections::HashMap;

use calendula_core::validate;
use calendula_core::{ApiError, ApiResult};
use calendula_db::events;
use calendula_db::users::UserRow;
use calendula_time::freeslot::FreeGaps;
use calendula_time::intervals::{self, Interval};
use calendula_time::workhours::WorkHours;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use diesel_async::AsyncPgConnection;

/// The first window searched. A slot within it costs one small query; otherwise the rest of
/// the horizon is searched in one more: each query has a fixed cost per user (an index
/// descent per reach class, and a scan of the series that started up to 400 days before
/// the window), which growing windows step by step would pay again at every step.
const FIRST_WINDOW: Duration = Duration::days(7);

/// Groups at least this large search the whole horizon at once. The more calendars, the
/// rarer a common free hour within a week, and the first window's query, mostly fixed cost
/// per user, costs about a third of a year's: searching it first pays off only while a
/// slot there is likelier than that. On the load harness's calendars (BENCHMARKS.md) a week
/// held the first slot for 85 % of 5-user groups, 55 % of 10, 25 % of 20, 9 % of 50.
const WHOLE_HORIZON_FROM_USERS: usize = 20;

/// Each user's busy intervals (event occurrences they have not declined) within `window`,
/// merged, sorted and clipped.
pub async fn busy_by_user(
    conn: &mut AsyncPgConnection,
    users: &[UserRow],
    window: Interval,
    budget: usize,
) -> ApiResult<HashMap<i64, Vec<Interval>>> {
    let rows = load_busy_rows(conn, users, &[window]).await?;
    // Event id → its occurrences overlapping the window (unclipped).
    let mut occurrences: HashMap<i64, Vec<Interval>> = HashMap::new();
    walk_busy_rows(&rows, budget, |row| {
        let mut list = Vec::new();
        let count = expand(row, window, budget, |o| list.push(o));
        occurrences.insert(row.event_id, list);
        Some(count)
    })
    .map_err(|over| over.error(users, budget))?;
    let mut by_user: HashMap<i64, Vec<Interval>> = HashMap::new();
    for row in &rows {
        let list = by_user.entry(row.user_id).or_default();
        list.extend_from_slice(&occurrences[&row.event_id]);
    }
    Ok(by_user
        .into_iter()
        .map(|(id, list)| (id, intervals::clip(&intervals::merge(list), window)))
        .collect())
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

/// Walks `rows`, expanding each event once however many of the users it keeps busy
/// (`expand_event` says how many occurrences it took, or `None` to stop the walk), and
/// charges that many to each of those users against the budget.
fn walk_busy_rows(
    rows: &[events::BusyEvent],
    budget: usize,
    mut expand_event: impl FnMut(&events::BusyEvent) -> Option<usize>,
) -> Result<(), OverBudget> {
    let mut expanded: HashMap<i64, usize> = HashMap::new();
    let mut spent: HashMap<i64, usize> = HashMap::new();
    for row in rows {
        let count = match expanded.get(&row.event_id) {
            Some(count) => *count,
            None => {
                let Some(count) = expand_event(row) else {
                    break;
                };
                expanded.insert(row.event_id, count);
                count
            }
        };
        let spent = spent.entry(row.user_id).or_default();
        *spent += count;
        if *spent > budget {
            return Err(OverBudget {
                user_id: row.user_id,
            });
        }
    }
    Ok(())
}

/// Calls `each` with the occurrences of `row`'s event overlapping `window`, at most one
/// more than `budget` (enough to tell that it is over), and says how many there were.
fn expand(
    row: &events::BusyEvent,
    window: Interval,
    budget: usize,
    mut each: impl FnMut(Interval),
) -> usize {
    let series = row.timing.series();
    let occurrences = series
        .overlapping(window.start, window.end)
        .take(budget + 1);
    occurrences.fold(0, |count, o| {
        each(Interval::new(o.start, o.end));
        count + 1
    })
}

/// The (user, event) rows that can make one of `users` busy within `parts`.
async fn load_busy_rows(
    conn: &mut AsyncPgConnection,
    users: &[UserRow],
    parts: &[Interval],
) -> ApiResult<Vec<events::BusyEvent>> {
    let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    events::busy_in_window(conn, &ids, parts).await
}

/// Takes every occurrence that keeps one of `users` busy out of `free`. Stops early once no
/// gap is left, and expands each event only over what is still open, so the budget counts
/// the occurrences the search examined.
async fn take_busy_time(
    conn: &mut AsyncPgConnection,
    users: &[UserRow],
    free: &mut FreeGaps,
    budget: usize,
) -> ApiResult<Result<(), OverBudget>> {
    if free.is_empty() {
        return Ok(Ok(()));
    }
    let mut rows = load_busy_rows(conn, users, free.gaps()).await?;
    // What is examined before the gaps close depends on the order: a fixed one keeps the
    // budget's verdict independent of the query plan.
    rows.sort_unstable_by_key(|row| (row.user_id, row.event_id));
    Ok(walk_busy_rows(&rows, budget, |row| {
        let open = free.bounds()?;
        Some(expand(row, open, budget, |o| free.remove(o)))
    }))
}

/// `user`'s zone and working hours, if they have any.
fn work_hours(user: &UserRow) -> Option<(Tz, WorkHours)> {
    user.work_days()
        .map(|days| (user.tz(), validate::work_hours(&days)))
}

/// When `user` is outside working hours within `window` (nothing without `work_days`).
pub fn off_hours(user: &UserRow, window: Interval) -> Vec<Interval> {
    work_hours(user)
        .map(|(tz, hours)| hours.off_hours(tz, window))
        .unwrap_or_default()
}

/// When any of `users` is outside working hours within `window`, merged. Computed once per
/// distinct zone and hours: colleagues mostly share them, and a year of them costs.
fn anyone_off_hours(users: &[UserRow], window: Interval) -> Vec<Interval> {
    let mut distinct: Vec<(Tz, WorkHours)> = Vec::new();
    for hours in users.iter().filter_map(work_hours) {
        if !distinct.contains(&hours) {
            distinct.push(hours);
        }
    }
    intervals::merge(
        distinct
            .iter()
            .flat_map(|(tz, hours)| hours.off_hours(*tz, window)),
    )
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
    let mut span = if users.len() >= WHOLE_HORIZON_FROM_USERS {
        until - from
    } else {
        FIRST_WINDOW.max(duration * 2)
    };
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
/// leave no room for a slot there is no query, and the query covers only the stretch from
/// the first to the last place they leave room.
async fn slots_in(
    conn: &mut AsyncPgConnection,
    users: &[UserRow],
    window: Interval,
    duration: Duration,
    limit: usize,
    budget: usize,
) -> ApiResult<Result<Vec<Interval>, OverBudget>> {
    let mut free = FreeGaps::new(&anyone_off_hours(users, window), window, duration);
    Ok(take_busy_time(conn, users, &mut free, budget)
        .await?
        .map(|()| free.slots(limit)))
}
