//! The notificator's SQL: claiming due schedule rows and turning them into delivery rows,
//! leasing pending deliveries, recording results. Every claim uses `FOR UPDATE SKIP LOCKED`,
//! so any number of server instances share the work; the unique key
//! `(rule_id, occurrence_start, user_id)` makes a second delivery row for the same reminder
//! impossible.

use std::collections::HashMap;
use std::time::Duration;

use calendula_core::config_types::HumanDuration;
use calendula_core::models::Channel;
use calendula_db::events::EventRow;
use calendula_db::notifications::{next_due, offset};
use calendula_db::schema::events;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Int4, Nullable, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::sender::{contact_field, Message, Senders};

/// Final and non-final delivery states, as stored.
pub const PENDING: &str = "pending";
pub const SENT: &str = "sent";
pub const FAILED: &str = "failed";
pub const SKIPPED: &str = "skipped";
pub const MISSED: &str = "missed";

#[derive(Debug, QueryableByName)]
struct DueRule {
    #[diesel(sql_type = BigInt)]
    rule_id: i64,
    #[diesel(sql_type = Timestamptz)]
    occurrence_start: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    fire_at: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    event_id: i64,
    #[diesel(sql_type = Text)]
    channel: String,
    #[diesel(sql_type = Text)]
    offset_text: String,
    #[diesel(sql_type = Int4)]
    offset_minutes: i32,
    #[diesel(sql_type = Timestamptz)]
    db_now: DateTime<Utc>,
}

#[derive(Debug, QueryableByName)]
struct Recipient {
    #[diesel(sql_type = BigInt)]
    event_id: i64,
    #[diesel(sql_type = BigInt)]
    user_id: i64,
    #[diesel(sql_type = Text)]
    login: String,
    #[diesel(sql_type = Nullable<Text>)]
    email: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    phone: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    telegram_chat_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    slack: Option<String>,
}

impl Recipient {
    fn contact(&self, channel: Channel) -> Option<&str> {
        let contact = match channel {
            Channel::Email => &self.email,
            Channel::Sms => &self.phone,
            Channel::Telegram => &self.telegram_chat_id,
            Channel::Slack => &self.slack,
        };
        contact.as_deref().filter(|c| !c.trim().is_empty())
    }
}

/// A delivery row written by an expansion.
#[derive(Debug, QueryableByName)]
pub struct Inserted {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    rule_id: i64,
    #[diesel(sql_type = BigInt)]
    user_id: i64,
    #[diesel(sql_type = Text)]
    pub channel: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    lease_token: Option<i64>,
    #[diesel(sql_type = Text)]
    delivery_key: String,
}

/// What one expansion did.
#[derive(Debug, Default)]
pub struct Expanded {
    /// Schedule rows claimed (each one occurrence of one rule).
    pub rules: usize,
    /// Delivery rows created (pending, skipped or missed).
    pub deliveries: Vec<Inserted>,
    /// The new rows leased to this instance: their first attempt, to start now.
    pub to_send: Vec<Claimed>,
    /// How long the oldest occurrence claimed had been due.
    pub oldest_wait: Option<Duration>,
}

/// How [`expand_due`] creates delivery rows.
pub struct ExpandParams<'a> {
    /// Schedule rows claimed at most.
    pub limit: u32,
    pub max_lateness: Duration,
    pub senders: &'a Senders,
    /// New pending rows leased to this instance at once (its free sending slots); the rest
    /// wait, unleased, for [`claim_pending`].
    pub lease_slots: usize,
    pub lease: Duration,
    pub lease_token: i64,
}

/// Claims up to `limit` due schedule rows, records one delivery row per recipient (the
/// author and every participant not answering `no`, as of now) and moves each schedule row
/// to its rule's next occurrence, or deletes it when the series is over. One transaction:
/// a crash anywhere leaves the schedule row due and nothing recorded. Up to `lease_slots`
/// new pending rows come back leased, ready to send.
pub async fn expand_due(
    conn: &mut AsyncPgConnection,
    params: &ExpandParams<'_>,
) -> QueryResult<Expanded> {
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        let due: Vec<DueRule> = diesel::sql_query(
            "SELECT s.rule_id, s.occurrence_start, s.fire_at, r.event_id, r.channel, \
                    r.offset_text, r.offset_minutes, now() AS db_now \
             FROM notification_schedule s JOIN notification_rules r ON r.id = s.rule_id \
             WHERE s.fire_at <= now() \
             ORDER BY s.fire_at \
             LIMIT $1 \
             FOR UPDATE OF s SKIP LOCKED",
        )
        .bind::<BigInt, _>(i64::from(params.limit))
        .load(conn)
        .await?;
        if due.is_empty() {
            return Ok(Expanded::default());
        }
        let mut event_ids: Vec<i64> = due.iter().map(|d| d.event_id).collect();
        event_ids.sort_unstable();
        event_ids.dedup();
        let events: HashMap<i64, EventRow> = events::table
            .filter(events::id.eq_any(&event_ids))
            .select(EventRow::as_select())
            .load(conn)
            .await?
            .into_iter()
            .map(|e| (e.id, e))
            .collect();
        // The author, whatever they answered (they stay busy with their event too), and
        // every participant whose answer is not `no`: decisions as they stand at sending time
        // (`claim_pending` checks a row waiting for a retry or a slot again).
        let recipients: Vec<Recipient> = diesel::sql_query(
            "SELECT e.id AS event_id, u.id AS user_id, u.login, u.email, u.phone, \
                    u.telegram_chat_id, u.slack \
             FROM events e JOIN users u ON u.id = e.author_id \
             WHERE e.id = ANY($1) \
             UNION ALL \
             SELECT p.event_id, u.id, u.login, u.email, u.phone, u.telegram_chat_id, u.slack \
             FROM participants p JOIN users u ON u.id = p.user_id JOIN events e ON e.id = p.event_id \
             WHERE p.event_id = ANY($1) AND p.decision <> 'no' AND p.user_id <> e.author_id",
        )
        .bind::<Array<BigInt>, _>(&event_ids)
        .load(conn)
        .await?;
        let mut by_event: HashMap<i64, Vec<&Recipient>> = HashMap::new();
        for r in &recipients {
            by_event.entry(r.event_id).or_default().push(r);
        }

        let mut rows = DeliveryColumns::default();
        // What the leased rows will send, by (rule, recipient).
        let mut leased_messages: HashMap<(i64, i64), Message> = HashMap::new();
        let mut advance = (Vec::new(), Vec::new(), Vec::new());
        let mut finished = Vec::new();
        for d in &due {
            let channel = Channel::parse(&d.channel).unwrap_or(Channel::Slack);
            let sender = params.senders.get(channel);
            let overdue = waited(d.db_now, d.fire_at);
            let event = events.get(&d.event_id);
            for r in by_event.get(&d.event_id).into_iter().flatten() {
                let contact = r.contact(channel);
                let (status, reason) = if overdue > params.max_lateness {
                    (MISSED, Some(missed_reason(overdue, params.max_lateness)))
                } else if sender.needs_contact() && contact.is_none() {
                    (
                        SKIPPED,
                        Some(format!(
                            "recipient has no contacts.{} for the {} channel",
                            contact_field(channel),
                            channel.as_str()
                        )),
                    )
                } else {
                    (PENDING, None)
                };
                let leased = status == PENDING && rows.leased < params.lease_slots;
                rows.push(d, r.user_id, contact, status, reason, leased);
                if let (true, Some(event)) = (leased, event) {
                    let message = Message {
                        event_id: d.event_id,
                        event_name: event.name.clone(),
                        timezone: event.timing.timezone.clone(),
                        occurrence_start: d.occurrence_start,
                        channel,
                        offset: d.offset_text.clone(),
                        login: r.login.clone(),
                        contact: contact.map(str::to_owned),
                    };
                    leased_messages.insert((d.rule_id, r.user_id), message);
                }
            }
            let next = event.and_then(|e| {
                next_due(&e.series(), offset(d.offset_minutes), d.occurrence_start)
            });
            match next {
                Some(next) => {
                    advance.0.push(d.rule_id);
                    advance.1.push(next.occurrence_start);
                    advance.2.push(next.fire_at);
                }
                None => finished.push(d.rule_id),
            }
        }
        let deliveries = rows.insert(conn, params).await?;
        if !advance.0.is_empty() {
            diesel::sql_query(
                "UPDATE notification_schedule s \
                 SET occurrence_start = n.occurrence_start, fire_at = n.fire_at \
                 FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[]) \
                      AS n(rule_id, occurrence_start, fire_at) \
                 WHERE s.rule_id = n.rule_id",
            )
            .bind::<Array<BigInt>, _>(&advance.0)
            .bind::<Array<Timestamptz>, _>(&advance.1)
            .bind::<Array<Timestamptz>, _>(&advance.2)
            .execute(conn)
            .await?;
        }
        if !finished.is_empty() {
            diesel::sql_query("DELETE FROM notification_schedule WHERE rule_id = ANY($1)")
                .bind::<Array<BigInt>, _>(&finished)
                .execute(conn)
                .await?;
        }

        let to_send = deliveries
            .iter()
            .filter_map(|row| {
                Some(Claimed {
                    id: row.id,
                    key: row.delivery_key.clone(),
                    lease_token: row.lease_token?,
                    attempts: 1,
                    message: leased_messages.remove(&(row.rule_id, row.user_id))?,
                })
            })
            .collect();
        Ok(Expanded {
            rules: due.len(),
            deliveries,
            to_send,
            // Claimed oldest first.
            oldest_wait: <[DueRule]>::first(&due).map(|d| waited(d.db_now, d.fire_at)),
        })
    })
    .await
}

/// How long `since` lies before `now` (zero if it does not).
pub(crate) fn waited(now: DateTime<Utc>, since: DateTime<Utc>) -> Duration {
    (now - since).to_std().unwrap_or_default()
}

fn missed_reason(overdue: Duration, max_lateness: Duration) -> String {
    format!(
        "overdue by {:.1}s, more than max_lateness ({})",
        overdue.as_secs_f64(),
        HumanDuration(max_lateness)
    )
}

/// New delivery rows, column by column (bound as arrays, inserted with one `unnest`).
#[derive(Default)]
struct DeliveryColumns {
    rule_id: Vec<i64>,
    occurrence_start: Vec<DateTime<Utc>>,
    user_id: Vec<i64>,
    channel: Vec<String>,
    contact: Vec<Option<String>>,
    fire_at: Vec<DateTime<Utc>>,
    status: Vec<&'static str>,
    last_error: Vec<Option<String>>,
    lease: Vec<bool>,
    leased: usize,
}

impl DeliveryColumns {
    fn push(
        &mut self,
        due: &DueRule,
        user_id: i64,
        contact: Option<&str>,
        status: &'static str,
        reason: Option<String>,
        leased: bool,
    ) {
        self.rule_id.push(due.rule_id);
        self.occurrence_start.push(due.occurrence_start);
        self.user_id.push(user_id);
        self.channel.push(due.channel.clone());
        self.contact.push(contact.map(str::to_owned));
        self.fire_at.push(due.fire_at);
        self.status.push(status);
        self.last_error.push(reason);
        self.lease.push(leased);
        self.leased += usize::from(leased);
    }

    /// Inserts the rows; a row already there (the same reminder) is left alone. Leased rows
    /// count their first attempt and are this claim's until the lease ends.
    async fn insert(
        self,
        conn: &mut AsyncPgConnection,
        params: &ExpandParams<'_>,
    ) -> QueryResult<Vec<Inserted>> {
        if self.rule_id.is_empty() {
            return Ok(Vec::new());
        }
        diesel::sql_query(
            "INSERT INTO notification_deliveries \
                 (rule_id, occurrence_start, user_id, channel, contact, fire_at, status, last_error, \
                  attempts, lease_token, next_attempt_at) \
             SELECT rule_id, occurrence_start, user_id, channel, contact, fire_at, status, last_error, \
                    CASE WHEN lease THEN 1 ELSE 0 END, \
                    CASE WHEN lease THEN $10 END, \
                    CASE WHEN lease THEN now() + $11 * interval '1 millisecond' ELSE fire_at END \
             FROM unnest($1::bigint[], $2::timestamptz[], $3::bigint[], $4::text[], $5::text[], \
                         $6::timestamptz[], $7::text[], $8::text[], $9::bool[]) \
                  AS n(rule_id, occurrence_start, user_id, channel, contact, fire_at, status, last_error, lease) \
             ON CONFLICT (rule_id, occurrence_start, user_id) DO NOTHING \
             RETURNING id, rule_id, user_id, channel, status, lease_token, delivery_key",
        )
        .bind::<Array<BigInt>, _>(&self.rule_id)
        .bind::<Array<Timestamptz>, _>(&self.occurrence_start)
        .bind::<Array<BigInt>, _>(&self.user_id)
        .bind::<Array<Text>, _>(&self.channel)
        .bind::<Array<Nullable<Text>>, _>(&self.contact)
        .bind::<Array<Timestamptz>, _>(&self.fire_at)
        .bind::<Array<Text>, _>(&self.status)
        .bind::<Array<Nullable<Text>>, _>(&self.last_error)
        .bind::<Array<Bool>, _>(&self.lease)
        .bind::<BigInt, _>(params.lease_token)
        .bind::<BigInt, _>(millis(params.lease))
        .load(conn)
        .await
    }
}

#[derive(Debug, QueryableByName)]
struct ClaimedRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Int4)]
    attempts: i32,
    #[diesel(sql_type = Timestamptz)]
    occurrence_start: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    channel: String,
    #[diesel(sql_type = Nullable<Text>)]
    contact: Option<String>,
    #[diesel(sql_type = BigInt)]
    event_id: i64,
    #[diesel(sql_type = Text)]
    offset_text: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    timezone: String,
    #[diesel(sql_type = Text)]
    login: String,
    #[diesel(sql_type = Text)]
    delivery_key: String,
}

/// A leased delivery: this instance may send it until the lease ends.
#[derive(Debug)]
pub struct Claimed {
    pub id: i64,
    /// The delivery's own key, sent with every attempt (see [`Sender::send`]).
    ///
    /// [`Sender::send`]: crate::sender::Sender::send
    pub key: String,
    pub lease_token: i64,
    /// Including this one.
    pub attempts: i32,
    pub message: Message,
}

/// What [`claim_pending`] found.
#[derive(Debug, Default)]
pub struct ClaimedBatch {
    /// Rows found due (leased, or settled below).
    pub found: usize,
    pub to_send: Vec<Claimed>,
    /// Rows settled without an attempt, for the metrics: `missed` (overdue) or `skipped`
    /// (the recipient has answered `no` since the row was made).
    pub settled: Vec<(Channel, String)>,
}

/// Why a row made for a participant is `skipped` when they answer `no` before it is sent
/// (SPEC §7: decisions count as they stand at sending time).
const DECLINED: &str = "recipient answered no before sending";

/// Leases up to `limit` due pending deliveries (first attempts, retries, and rows whose
/// previous lease ran out because their instance died) to this instance for `lease`.
/// Rows of a participant who has answered `no` since the row was made are recorded
/// `skipped` instead (the recipient rule of [`expand_due`], checked again), and rows
/// overdue by more than `max_lateness` `missed`.
pub async fn claim_pending(
    conn: &mut AsyncPgConnection,
    limit: u32,
    lease: Duration,
    max_lateness: Duration,
    lease_token: i64,
) -> QueryResult<ClaimedBatch> {
    let rows: Vec<ClaimedRow> = diesel::sql_query(
        "WITH c AS ( \
             SELECT id FROM notification_deliveries \
             WHERE status = 'pending' AND next_attempt_at <= now() \
             ORDER BY next_attempt_at \
             LIMIT $1 \
             FOR UPDATE SKIP LOCKED), \
         x AS (SELECT c.id, CASE \
                   WHEN EXISTS (SELECT 1 FROM notification_rules r \
                                JOIN events e ON e.id = r.event_id \
                                JOIN participants p ON p.event_id = r.event_id \
                                WHERE r.id = d.rule_id AND p.user_id = d.user_id \
                                  AND p.decision = 'no' AND e.author_id <> d.user_id) \
                   THEN 'skipped' \
                   WHEN now() - d.fire_at > $3 * interval '1 millisecond' THEN 'missed' \
               END AS settled \
               FROM c JOIN notification_deliveries d ON d.id = c.id) \
         UPDATE notification_deliveries d SET \
             status = coalesce(x.settled, 'pending'), \
             last_error = CASE x.settled \
                 WHEN 'missed' THEN 'overdue by ' || round(extract(epoch FROM now() - d.fire_at), 1) \
                      || 's, more than max_lateness (' || $5 || ')' \
                      || coalesce('; last error: ' || d.last_error, '') \
                 WHEN 'skipped' THEN $6 || coalesce('; last error: ' || d.last_error, '') \
                 ELSE d.last_error END, \
             attempts = d.attempts + CASE WHEN x.settled IS NULL THEN 1 ELSE 0 END, \
             next_attempt_at = now() + $2 * interval '1 millisecond', \
             lease_token = CASE WHEN x.settled IS NULL THEN $4 END, \
             updated_at = now() \
         FROM x, notification_rules r, events e, users u \
         WHERE d.id = x.id AND r.id = d.rule_id AND e.id = r.event_id AND u.id = d.user_id \
         RETURNING d.id, d.status, d.attempts, d.occurrence_start, d.channel, d.contact, \
                   r.event_id, r.offset_text, e.name, e.timezone, u.login, d.delivery_key",
    )
    .bind::<BigInt, _>(i64::from(limit))
    .bind::<BigInt, _>(millis(lease))
    .bind::<BigInt, _>(millis(max_lateness))
    .bind::<BigInt, _>(lease_token)
    .bind::<Text, _>(HumanDuration(max_lateness).to_string())
    .bind::<Text, _>(DECLINED)
    .load(conn)
    .await?;
    let mut batch = ClaimedBatch {
        found: rows.len(),
        ..ClaimedBatch::default()
    };
    for row in rows {
        let channel = Channel::parse(&row.channel).unwrap_or(Channel::Slack);
        if row.status != PENDING {
            batch.settled.push((channel, row.status));
            continue;
        }
        batch.to_send.push(Claimed {
            id: row.id,
            key: row.delivery_key,
            lease_token,
            attempts: row.attempts,
            message: Message {
                event_id: row.event_id,
                event_name: row.name,
                timezone: row.timezone,
                occurrence_start: row.occurrence_start,
                channel,
                offset: row.offset_text,
                login: row.login,
                contact: row.contact,
            },
        });
    }
    Ok(batch)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The result of one attempt, to be recorded.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub id: i64,
    pub lease_token: i64,
    /// `sent`, `failed`, or `pending` (retry after `retry_in`).
    pub status: &'static str,
    pub error: Option<String>,
    pub retry_in: Duration,
    pub done_at: DateTime<Utc>,
}

/// A recorded outcome, for the metrics.
#[derive(Debug, QueryableByName)]
pub struct Recorded {
    #[diesel(sql_type = Text)]
    pub channel: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    /// Seconds from the fire time to the hand-over (sent rows).
    #[diesel(sql_type = Nullable<diesel::sql_types::Double>)]
    pub lag: Option<f64>,
}

/// Records outcomes in one statement. A row whose lease was taken over by another claim
/// (this instance was too slow) is left to that claim. Rows are locked in id order, as a
/// delete of their event locks them (`calendula_db::events::delete`): two transactions
/// locking the same rows in different orders can deadlock.
pub async fn record(
    conn: &mut AsyncPgConnection,
    outcomes: &[Outcome],
) -> QueryResult<Vec<Recorded>> {
    let ids: Vec<i64> = outcomes.iter().map(|o| o.id).collect();
    let tokens: Vec<i64> = outcomes.iter().map(|o| o.lease_token).collect();
    let statuses: Vec<&str> = outcomes.iter().map(|o| o.status).collect();
    let errors: Vec<Option<&str>> = outcomes.iter().map(|o| o.error.as_deref()).collect();
    let retry: Vec<i64> = outcomes.iter().map(|o| millis(o.retry_in)).collect();
    let done: Vec<DateTime<Utc>> = outcomes.iter().map(|o| o.done_at).collect();
    diesel::sql_query(
        "WITH locked AS ( \
             SELECT id FROM notification_deliveries WHERE id = ANY($1) ORDER BY id FOR UPDATE) \
         UPDATE notification_deliveries d SET \
             status = o.status, \
             last_error = COALESCE(o.error, d.last_error), \
             next_attempt_at = CASE WHEN o.status = 'pending' \
                 THEN now() + o.retry_ms * interval '1 millisecond' ELSE d.next_attempt_at END, \
             sent_at = CASE WHEN o.status = 'sent' THEN o.done_at ELSE d.sent_at END, \
             lease_token = NULL, \
             updated_at = now() \
         FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::timestamptz[]) \
              AS o(id, token, status, error, retry_ms, done_at) \
         WHERE d.id = o.id AND d.id IN (SELECT id FROM locked) \
           AND d.lease_token = o.token AND d.status = 'pending' \
         RETURNING d.channel, d.status, \
                   CASE WHEN d.status = 'sent' THEN extract(epoch FROM d.sent_at - d.fire_at)::float8 END AS lag",
    )
    .bind::<Array<BigInt>, _>(&ids)
    .bind::<Array<BigInt>, _>(&tokens)
    .bind::<Array<Text>, _>(&statuses)
    .bind::<Array<Nullable<Text>>, _>(&errors)
    .bind::<Array<BigInt>, _>(&retry)
    .bind::<Array<Timestamptz>, _>(&done)
    .load(conn)
    .await
}

#[derive(Debug, QueryableByName)]
struct NextDue {
    #[diesel(sql_type = Nullable<Timestamptz>)]
    next: Option<DateTime<Utc>>,
}

/// When the next piece of work falls due: a schedule row's fire time or a pending
/// delivery's next attempt.
pub async fn next_due_at(conn: &mut AsyncPgConnection) -> QueryResult<Option<DateTime<Utc>>> {
    let row: NextDue = diesel::sql_query(
        "SELECT LEAST( \
             (SELECT min(fire_at) FROM notification_schedule), \
             (SELECT min(next_attempt_at) FROM notification_deliveries WHERE status = 'pending') \
         ) AS next",
    )
    .get_result(conn)
    .await?;
    Ok(row.next)
}
