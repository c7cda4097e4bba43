//! The `events`, `participants` and `notification_rules` tables: rows and queries.

use std::collections::{HashMap, HashSet};
use std::marker::PhantomData;
use std::ops::Range;

use calendula_core::models::{
    output_time, Channel, Decision, EDay, Event, Notification, Participant, Repetition,
};
use calendula_core::validate::{ValidEvent, MAX_PARTICIPANTS};
use calendula_core::{ApiError, ApiResult};
use calendula_time::intervals::Interval;
use calendula_time::localtime::to_local;
use calendula_time::recurrence::{RepeatType, Rule, Series};
use chrono::{DateTime, NaiveDateTime, Utc, Weekday};
use chrono_tz::Tz;
use diesel::dsl::SqlTypeOf;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, Int8, Text, Timestamptz, Tstzmultirange, Untyped};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::schema::{
    events, notification_deliveries, notification_rules, notification_schedule, participants, users,
};
use crate::users::UserRow;

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = events)]
pub struct EventRow {
    pub id: i64,
    pub author_id: i64,
    pub name: String,
    pub description: String,
    #[diesel(embed)]
    pub timing: EventTiming,
}

/// The columns that decide when an event occurs: all that free/busy computations read.
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = events)]
pub struct EventTiming {
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    pub timezone: String,
    pub repeat_type: Option<String>,
    pub repeat_each: i32,
    pub repeat_weekly_days: i16,
    pub repeat_monthly_last_week: bool,
    pub repeat_due: Option<DateTime<Utc>>,
    pub start_wall: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = events)]
struct InsertEvent<'a> {
    author_id: i64,
    start_time: DateTime<Utc>,
    end_time: DateTime<Utc>,
    timezone: &'a str,
    name: &'a str,
    description: &'a str,
    repeat_type: Option<&'a str>,
    repeat_each: i32,
    repeat_weekly_days: i16,
    repeat_monthly_last_week: bool,
    repeat_due: Option<DateTime<Utc>>,
    active_until: Option<DateTime<Utc>>,
    start_wall: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable)]
pub struct RuleRow {
    pub event_id: i64,
    pub channel: String,
    pub offset_text: String,
    pub offset_minutes: i32,
}

const REPEAT_TYPES: [(RepeatType, &str); 6] = [
    (RepeatType::Daily, "daily"),
    (RepeatType::Weekly, "weekly"),
    (RepeatType::MonthlyNumber, "monthly_number"),
    (RepeatType::MonthlyDayWeekno, "monthly_day_weekno"),
    (RepeatType::Yearly, "yearly"),
    (RepeatType::Workday, "workday"),
];

fn repeat_type_name(kind: RepeatType) -> &'static str {
    REPEAT_TYPES
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, name)| *name)
        .unwrap_or("daily")
}

fn weekdays_mask(days: &[Weekday]) -> i16 {
    days.iter()
        .fold(0, |mask, day| mask | (1 << day.num_days_from_monday()))
}

fn weekdays_from_mask(mask: i16) -> Vec<Weekday> {
    (0..7u8)
        .filter(|bit| mask & (1 << bit) != 0)
        .filter_map(|bit| Weekday::try_from(bit).ok())
        .collect()
}

impl EventRow {
    pub fn tz(&self) -> Tz {
        self.timing.tz()
    }

    pub fn series(&self) -> Series {
        self.timing.series()
    }
}

impl EventTiming {
    pub fn tz(&self) -> Tz {
        self.timezone.parse().unwrap_or(Tz::UTC)
    }

    pub fn rule(&self) -> Option<Rule> {
        let name = self.repeat_type.as_deref()?;
        let kind = REPEAT_TYPES.iter().find(|(_, n)| *n == name)?.0;
        Some(Rule {
            kind,
            each: self.repeat_each.max(1) as u32,
            weekly_days: weekdays_from_mask(self.repeat_weekly_days),
            monthly_last_week: self.repeat_monthly_last_week,
            due: self.repeat_due,
        })
    }

    pub fn series(&self) -> Series {
        let tz = self.tz();
        Series {
            start: self.start_time,
            end: self.end_time,
            tz,
            rule: self.rule(),
            wall_start: self
                .start_wall
                .unwrap_or_else(|| to_local(tz, self.start_time)),
        }
    }

    fn repetition(&self) -> Option<Repetition> {
        let rule = self.rule()?;
        Some(Repetition {
            kind: rule.kind,
            weekly_days: rule.weekly_days.iter().copied().map(EDay::from).collect(),
            monthly_last_week: rule.monthly_last_week,
            due_date: rule.due.map(|due| output_time(due, self.tz())),
            each: rule.each,
        })
    }
}

/// An event with everything its JSON shows.
#[derive(Debug, Clone)]
pub struct EventDetails {
    pub row: EventRow,
    pub author: UserRow,
    pub participants: Vec<(UserRow, Decision)>,
    pub rules: Vec<RuleRow>,
}

impl EventDetails {
    /// The event's JSON.
    pub fn to_model(&self) -> Event {
        let tz = self.row.tz();
        let timing = &self.row.timing;
        Event {
            id: self.row.id,
            author: self.author.brief(),
            start_time: output_time(timing.start_time, tz),
            end_time: output_time(timing.end_time, tz),
            timezone: timing.timezone.clone(),
            name: self.row.name.clone(),
            description: self.row.description.clone(),
            notifications: self
                .rules
                .iter()
                .filter_map(|r| {
                    Some(Notification {
                        channel: Channel::parse(&r.channel)?,
                        offset: r.offset_text.clone(),
                    })
                })
                .collect(),
            participants: self
                .participants
                .iter()
                .map(|(user, decision)| Participant {
                    user: user.brief(),
                    decision: *decision,
                })
                .collect(),
            repetition: timing.repetition(),
        }
    }

    pub fn is_member(&self, user_id: i64) -> bool {
        self.row.author_id == user_id || self.participants.iter().any(|(u, _)| u.id == user_id)
    }
}

/// Inserts an event with its participants and reminder rules in one transaction.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    author: &UserRow,
    event: &ValidEvent,
    members: &[(UserRow, Decision)],
) -> ApiResult<i64> {
    let series = &event.series;
    let rule = series.rule.as_ref();
    let tz_name = series.tz.name();
    let row = InsertEvent {
        author_id: author.id,
        start_time: series.start,
        end_time: series.end,
        timezone: tz_name,
        name: &event.name,
        description: &event.description,
        repeat_type: rule.map(|r| repeat_type_name(r.kind)),
        repeat_each: rule.map_or(1, |r| r.each as i32),
        repeat_weekly_days: rule.map_or(0, |r| weekdays_mask(&r.weekly_days)),
        repeat_monthly_last_week: rule.is_some_and(|r| r.monthly_last_week),
        repeat_due: rule.and_then(|r| r.due),
        active_until: series.last_end(),
        start_wall: series.wall_start,
    };
    let user_ids: Vec<i64> = members.iter().map(|(u, _)| u.id).collect();
    let decisions: Vec<String> = members.iter().map(|(_, d)| d.as_str().to_owned()).collect();
    let rules: Vec<_> = event
        .notifications
        .iter()
        .map(|(channel, text, minutes)| {
            (
                notification_rules::channel.eq(channel.as_str()),
                notification_rules::offset_text.eq(text),
                notification_rules::offset_minutes.eq(*minutes as i32),
            )
        })
        .collect();
    let id = conn
        .transaction::<i64, diesel::result::Error, _>(async |conn| {
            let id: i64 = diesel::insert_into(events::table).values(&row).returning(events::id).get_result(conn).await?;
            if !user_ids.is_empty() {
                diesel::sql_query(
                    "INSERT INTO participants (event_id, user_id, decision, span) \
                     SELECT e.id, p.user_id, p.decision, e.span \
                     FROM events e, unnest($2::bigint[], $3::text[]) AS p(user_id, decision) WHERE e.id = $1",
                )
                .bind::<Int8, _>(id)
                .bind::<Array<Int8>, _>(&user_ids)
                .bind::<Array<Text>, _>(&decisions)
                .execute(conn)
                .await?;
            }
            if !rules.is_empty() {
                let values: Vec<_> =
                    rules.iter().map(|(c, t, m)| (notification_rules::event_id.eq(id), *c, *t, *m)).collect();
                diesel::insert_into(notification_rules::table).values(values).execute(conn).await?;
                crate::notifications::schedule_event(conn, id).await?;
            }
            Ok(id)
        })
        .await?;
    Ok(id)
}

pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> ApiResult<Option<EventRow>> {
    Ok(events::table
        .find(id)
        .select(EventRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Deletes event `id`; its participants, reminder rules, their schedule and their delivery
/// records go with it (foreign keys `ON DELETE CASCADE`), so its reminders not yet taken for
/// sending are not sent. False when there was no such event.
pub async fn delete(conn: &mut AsyncPgConnection, id: i64) -> ApiResult<bool> {
    let deleted = conn
        .transaction::<usize, diesel::result::Error, _>(async |conn| {
            // Locks are taken in the notificator's orders, or a delete racing it could
            // deadlock: a due rule's schedule row before the rule (the cascade would take
            // the rule first), delivery records in id order (the cascade's is the index's).
            let rules = notification_rules::table
                .filter(notification_rules::event_id.eq(id))
                .select(notification_rules::id);
            notification_schedule::table
                .filter(notification_schedule::rule_id.eq_any(rules))
                .select(notification_schedule::rule_id)
                .for_update()
                .load::<i64>(conn)
                .await?;
            notification_deliveries::table
                .filter(notification_deliveries::rule_id.eq_any(rules))
                .select(notification_deliveries::id)
                .order(notification_deliveries::id)
                .for_update()
                .load::<i64>(conn)
                .await?;
            diesel::delete(events::table.find(id)).execute(conn).await
        })
        .await?;
    Ok(deleted > 0)
}

/// The 404 for an event id that names no event.
pub fn no_event(id: i64) -> ApiError {
    ApiError::not_found(format!("no event {id}"))
}

/// The event named in a path with its details, or 404. Read in one snapshot (an event
/// deleted between the statements would otherwise come back without its participants), its
/// three queries sent together: they need only the id.
pub async fn get_details(conn: &mut AsyncPgConnection, id: i64) -> ApiResult<EventDetails> {
    conn.build_transaction()
        .repeatable_read()
        .read_only()
        .run(async |conn| {
            let conn: &AsyncPgConnection = conn;
            let ids = [id];
            let with_author = events::table
                .find(id)
                .inner_join(users::table.on(users::id.eq(events::author_id)))
                .select((EventRow::as_select(), UserRow::as_select()))
                .load::<(EventRow, UserRow)>(&mut &*conn);
            let (mut found, members, rules) =
                futures_util::try_join!(with_author, members_of(conn, &ids), rules_of(conn, &ids))?;
            let (row, author) = found.pop().ok_or_else(|| no_event(id))?;
            let mut details = assemble(vec![row], vec![author], members, rules)?;
            details.pop().ok_or_else(|| no_event(id))
        })
        .await
}

/// Authors, participants and reminder rules for `rows`, in three queries sent together
/// (diesel-async pipelines futures polled at once on one connection: one round trip, once
/// the connection has prepared their statements).
pub async fn load_details(
    conn: &mut AsyncPgConnection,
    rows: Vec<EventRow>,
) -> ApiResult<Vec<EventDetails>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut author_ids: Vec<i64> = rows.iter().map(|r| r.author_id).collect();
    author_ids.sort_unstable();
    author_ids.dedup();
    let conn: &AsyncPgConnection = conn;
    let (authors, members, rules) = futures_util::try_join!(
        crate::users::find_by_ids(conn, &author_ids),
        members_of(conn, &ids),
        rules_of(conn, &ids)
    )?;
    assemble(rows, authors, members, rules)
}

/// The participants of events `ids` with their users and answers, by event then login.
async fn members_of(
    mut conn: &AsyncPgConnection,
    ids: &[i64],
) -> QueryResult<Vec<(i64, String, UserRow)>> {
    participants::table
        .inner_join(users::table)
        .filter(participants::event_id.eq_any(ids))
        .order((participants::event_id, users::login))
        .select((
            participants::event_id,
            participants::decision,
            UserRow::as_select(),
        ))
        .load(&mut conn)
        .await
}

/// The reminder rules of events `ids`, in the order they were given.
async fn rules_of(mut conn: &AsyncPgConnection, ids: &[i64]) -> QueryResult<Vec<RuleRow>> {
    notification_rules::table
        .filter(notification_rules::event_id.eq_any(ids))
        .order(notification_rules::id)
        .select((
            notification_rules::event_id,
            notification_rules::channel,
            notification_rules::offset_text,
            notification_rules::offset_minutes,
        ))
        .load(&mut conn)
        .await
}

/// `rows` with their authors, participants and rules (each read for all the rows).
fn assemble(
    rows: Vec<EventRow>,
    authors: Vec<UserRow>,
    members: Vec<(i64, String, UserRow)>,
    rules: Vec<RuleRow>,
) -> ApiResult<Vec<EventDetails>> {
    let authors: HashMap<i64, UserRow> = authors.into_iter().map(|u| (u.id, u)).collect();
    let mut members_by_event: HashMap<i64, Vec<(UserRow, Decision)>> = HashMap::new();
    for (event_id, decision, user) in members {
        members_by_event.entry(event_id).or_default().push((
            user,
            Decision::parse(&decision).unwrap_or(Decision::Undecided),
        ));
    }
    let mut rules_by_event: HashMap<i64, Vec<RuleRow>> = HashMap::new();
    for rule in rules {
        rules_by_event.entry(rule.event_id).or_default().push(rule);
    }
    rows.into_iter()
        .map(|row| {
            let author = authors
                .get(&row.author_id)
                .cloned()
                .ok_or_else(|| ApiError::internal(format!("event {} has no author", row.id)))?;
            Ok(EventDetails {
                participants: members_by_event.remove(&row.id).unwrap_or_default(),
                rules: rules_by_event.remove(&row.id).unwrap_or_default(),
                author,
                row,
            })
        })
        .collect()
}

/// Events of `user_id` (as author or participant, whatever they answered) that can have an
/// occurrence overlapping `[from, to)`.
async fn in_window(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> ApiResult<Vec<EventRow>> {
    // One GiST index scan per table: (author_id, span) and (user_id, span).
    let query = UsersWindowQuery::<Untyped>::new(
        "SELECT e.*",
        "CROSS JOIN LATERAL unnest(q.ids) AS u(id) CROSS JOIN LATERAL ( \
                   SELECT ev.id AS event_id FROM events ev \
                   WHERE ev.author_id = u.id AND ev.span && q.window_range \
                   UNION \
                   SELECT p.event_id FROM participants p \
                   WHERE p.user_id = u.id AND p.span && q.window_range \
               ) m JOIN events e ON e.id = m.event_id",
        std::slice::from_ref(&user_id),
        &[Interval::new(from, to)],
    );
    Ok(query.load(conn).await?)
}

/// [`in_window`]'s events, then the details of those `pick` keeps, read in one snapshot:
/// an event deleted in between would otherwise be listed without its participants.
/// `pick` sees every candidate and returns what it made of them with the ids to keep.
pub async fn in_window_with_details<T: Send>(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    pick: impl FnOnce(&[EventRow]) -> ApiResult<(T, HashSet<i64>)> + Send,
) -> ApiResult<(T, Vec<EventDetails>)> {
    conn.build_transaction()
        .repeatable_read()
        .read_only()
        .run(async |conn| {
            let rows = in_window(conn, user_id, from, to).await?;
            let (picked, keep) = pick(&rows)?;
            let rows = rows.into_iter().filter(|r| keep.contains(&r.id)).collect();
            Ok((picked, load_details(conn, rows).await?))
        })
        .await
}

/// An event that makes a user busy, as far as its timing goes. Decoded by position, not by
/// column name: thousands are read per request, and name lookups were a fifth of its time.
#[derive(Debug, Clone, Queryable)]
pub struct BusyEvent {
    pub user_id: i64,
    pub event_id: i64,
    pub timing: EventTiming,
}

/// [`BusyEvent`]'s SQL types, the timing ones taken from the `events` schema; the SELECT of
/// [`busy_in_window`] lists its columns in the same order as the struct's fields.
type BusyEventSql = (
    Int8,
    Int8,
    SqlTypeOf<<EventTiming as Selectable<Pg>>::SelectExpression>,
);

/// What can make `user_ids` busy within `parts` (sorted, disjoint, not empty): events they
/// author, and events they take part in without having answered `no`, each (user, event)
/// once.
pub async fn busy_in_window(
    conn: &mut AsyncPgConnection,
    user_ids: &[i64],
    parts: &[Interval],
) -> ApiResult<Vec<BusyEvent>> {
    // The hot query of `/funcs/*`: index-only range scans of `busy_events`, one per reach
    // class for all the users at once (the classes and their bounds: migration 000005).
    if parts.is_empty() {
        return Ok(Vec::new());
    }
    // Rows that miss every part are dropped before they are sent: a free-slot search asks
    // only about the hours working hours leave open, where most one-off meetings are not.
    let query = UsersWindowQuery::<BusyEventSql>::new(
        "SELECT b.user_id, b.event_id, b.start_time, b.end_time, b.timezone, \
         b.repeat_type, b.repeat_each, b.repeat_weekly_days, \
         b.repeat_monthly_last_week, b.repeat_due, b.start_wall",
        "CROSS JOIN LATERAL ( \
             SELECT * FROM busy_events b WHERE b.user_id = ANY(q.ids) AND b.reach = 0 \
               AND b.start_time > q.window_from - interval '24 hours' \
               AND b.start_time < q.window_to \
             UNION ALL \
             SELECT * FROM busy_events b WHERE b.user_id = ANY(q.ids) AND b.reach = 1 \
               AND b.start_time > q.window_from - interval '9600 hours' \
               AND b.start_time < q.window_to \
             UNION ALL \
             SELECT * FROM busy_events b WHERE b.user_id = ANY(q.ids) AND b.reach = 2 \
               AND b.start_time < q.window_to \
         ) b WHERE b.span && q.window_parts",
        user_ids,
        parts,
    );
    Ok(query.load(conn).await?)
}

/// `select`, then `FROM` a row `q` holding the user ids (`q.ids`) and the window: its
/// bounds (`q.window_from`, `q.window_to`), as a `tstzrange` (`q.window_range`) and as the
/// `tstzmultirange` of its parts (`q.window_parts`), then `body`.
/// Unlike `sql_query`, whose text diesel cannot know to be fixed, this is prepared once per
/// connection and then reused. `Row` is the SQL type of the selected row (`Untyped`: read
/// by column name).
struct UsersWindowQuery<'a, Row> {
    select: &'static str,
    body: &'static str,
    user_ids: &'a [i64],
    parts: Vec<Range<DateTime<Utc>>>,
    row: PhantomData<Row>,
}

impl<'a, Row> UsersWindowQuery<'a, Row> {
    /// `parts` must be sorted and disjoint; without any, the query is not built.
    fn new(
        select: &'static str,
        body: &'static str,
        user_ids: &'a [i64],
        parts: &[Interval],
    ) -> Self {
        UsersWindowQuery {
            select,
            body,
            user_ids,
            parts: parts.iter().map(|p| p.start..p.end).collect(),
            row: PhantomData,
        }
    }
}

impl<Row> QueryFragment<Pg> for UsersWindowQuery<'_, Row> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let (Some(first), Some(last)) = (<[_]>::first(&self.parts), self.parts.last()) else {
            return Err(diesel::result::Error::QueryBuilderError(
                "a window query needs at least one part".into(),
            ));
        };
        out.push_sql(self.select);
        out.push_sql(" FROM (SELECT ");
        out.push_bind_param::<Array<Int8>, _>(&self.user_ids)?;
        out.push_sql(" AS ids, ");
        out.push_bind_param::<Timestamptz, _>(&first.start)?;
        out.push_sql(" AS window_from, ");
        out.push_bind_param::<Timestamptz, _>(&last.end)?;
        out.push_sql(" AS window_to, tstzrange(");
        out.push_bind_param::<Timestamptz, _>(&first.start)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamptz, _>(&last.end)?;
        out.push_sql(") AS window_range, ");
        out.push_bind_param::<Tstzmultirange, _>(&self.parts)?;
        out.push_sql(" AS window_parts) q ");
        out.push_sql(self.body);
        Ok(())
    }
}

impl<Row> QueryId for UsersWindowQuery<'_, Row> {
    type QueryId = ();
    // Keyed by its SQL text in the statement cache.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Row> Query for UsersWindowQuery<'_, Row> {
    type SqlType = Row;
}

/// Records `user`'s answer to event `event_id`. A participant answers for their
/// participation; the author may answer too (they become a participant). Anyone else gets
/// a 422; a 404 when the event is gone.
pub async fn set_decision(
    conn: &mut AsyncPgConnection,
    event_id: i64,
    user: &UserRow,
    decision: Decision,
) -> ApiResult<()> {
    conn.transaction::<(), ApiError, _>(async |conn| {
        // Locked until the answer is recorded: a delete of the event waits for it, and an
        // answer after a delete finds no event (rather than a missing row to update).
        let event = events::table
            .find(event_id)
            .select(EventRow::as_select())
            .for_key_share()
            .first(conn)
            .await
            .optional()?
            .ok_or_else(|| no_event(event_id))?;
        let updated = diesel::update(participants::table.find((event.id, user.id)))
            .set(participants::decision.eq(decision.as_str()))
            .execute(conn)
            .await?;
        if updated > 0 {
            return Ok(());
        }
        if event.author_id != user.id {
            return Err(ApiError::invalid(
                "user_login",
                format!(
                    "{:?} is not a participant of event {}",
                    user.login, event.id
                ),
            ));
        }
        // The author joins as a participant: the event's limit holds for them too.
        let participants: i64 = participants::table
            .filter(participants::event_id.eq(event.id))
            .count()
            .get_result(conn)
            .await?;
        if participants >= MAX_PARTICIPANTS as i64 {
            return Err(ApiError::invalid(
                "user_login",
                format!(
                    "event {} already has {MAX_PARTICIPANTS} participants, the most it may have",
                    event.id
                ),
            ));
        }
        diesel::sql_query(
            "INSERT INTO participants (event_id, user_id, decision, span) \
                 SELECT id, $2, $3, span FROM events WHERE id = $1 \
                 ON CONFLICT (event_id, user_id) DO UPDATE SET decision = EXCLUDED.decision",
        )
        .bind::<Int8, _>(event.id)
        .bind::<Int8, _>(user.id)
        .bind::<Text, _>(decision.as_str())
        .execute(conn)
        .await?;
        Ok(())
    })
    .await
}
