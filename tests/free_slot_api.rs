//! `POST /funcs/calc_free_slot` and `POST /funcs/free_busy` over HTTP against the real
//! server and PostgreSQL (SPEC §3, §6; issue 5).
//!
//! Every expected instant below is computed by hand (the reasoning is in the comments);
//! the last tests compare the server with a brute-force minute-by-minute oracle written
//! here, independent of `calendula-time`.
//!
//! Conventions fixed for `/funcs`: naive datetimes in the body are UTC; `calc_free_slot`
//! answers in UTC offsets, `free_busy` in each user's own zone offset.

mod common;

use std::time::{Duration as StdDuration, Instant};

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, Offset,
    TimeZone, Utc,
};
use chrono_tz::Tz;
use common::TestServer;
use reqwest::StatusCode;
use serde_json::{json, Value};

const CALC: &str = "/funcs/calc_free_slot";
const FREE_BUSY: &str = "/funcs/free_busy";

// ----------------------------------------------------------------------------------------
// Helpers
// ----------------------------------------------------------------------------------------

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("bad datetime {text:?}: {e}"))
        .with_timezone(&Utc)
}

/// An output datetime, which must carry an offset.
fn out_time(value: &Value) -> DateTime<FixedOffset> {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("expected a datetime string, got {value}"));
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("output {text:?} is not RFC 3339 with an offset: {e}"))
}

/// `{"day_from", "day_to", "time_from", "time_to"}`.
fn work_days(day_from: &str, day_to: &str, time_from: &str, time_to: &str) -> Value {
    json!({"day_from": day_from, "day_to": day_to, "time_from": time_from, "time_to": time_to})
}

fn participant(login: &str, decision: &str) -> Value {
    json!({"user": {"login": login}, "decision": decision})
}

/// A one-off event of `author` from `start` to `end` (plus `extra` fields); returns its id.
fn event(server: &TestServer, author: &str, start: &str, end: &str, extra: Value) -> i64 {
    let mut body = json!({"author_login": author, "start_time": start, "end_time": end});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let created = server.event(body);
    created["id"].as_i64().expect("event id")
}

fn answer(server: &TestServer, id: i64, login: &str, decision: &str) {
    let (status, body) = server.post(
        &format!("/event/{id}/accept?user_login={login}&decision={decision}"),
        Value::Null,
    );
    assert_eq!(status, StatusCode::OK, "accept {login} {decision}: {body}");
}

/// `calc_free_slot` with the given fields, asserting 200.
fn calc(server: &TestServer, body: Value) -> Value {
    let (status, answer) = server.post(CALC, body.clone());
    assert_eq!(status, StatusCode::OK, "calc_free_slot {body}: {answer}");
    answer
}

/// The earliest slot for `logins` from `from`, `duration` long (any accepted form).
fn first_slot(server: &TestServer, logins: &[&str], from: &str, duration: Value) -> Value {
    calc(
        server,
        json!({"event_duration": duration, "start_calc_from": from, "user_logins": logins}),
    )
}

/// Asserts `span` is `[start, end)` (same instants) written with a UTC offset.
fn assert_utc_span(span: &Value, start: &str, end: &str) {
    let (s, e) = (out_time(&span["start"]), out_time(&span["end"]));
    assert_eq!(
        (s.with_timezone(&Utc), e.with_timezone(&Utc)),
        (utc(start), utc(end)),
        "span {span}"
    );
    assert_eq!(s.offset().local_minus_utc(), 0, "start not in UTC: {span}");
    assert_eq!(e.offset().local_minus_utc(), 0, "end not in UTC: {span}");
}

/// Asserts a `calc_free_slot` answer is exactly the single slot `[start, end)`, without `slots`.
fn assert_slot(answer: &Value, start: &str, end: &str) {
    assert_utc_span(answer, start, end);
    assert!(
        answer.get("slots").is_none(),
        "no `slots` without limit > 1: {answer}"
    );
}

fn assert_no_slot(answer: &Value) {
    assert_eq!(answer, &json!({"start": null, "end": null}));
}

/// An expected datetime string normalised (same offset, same instant) for comparison.
fn norm(text: &str) -> String {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("bad datetime {text:?}: {e}"))
        .to_rfc3339()
}

/// `[[start, end], ...]` of a free/busy list, normalised, offsets kept.
fn spans(list: &Value) -> Vec<[String; 2]> {
    list.as_array()
        .unwrap_or_else(|| panic!("expected a list of spans, got {list}"))
        .iter()
        .map(|s| {
            [
                out_time(&s["start"]).to_rfc3339(),
                out_time(&s["end"]).to_rfc3339(),
            ]
        })
        .collect()
}

fn expected(list: &[[&str; 2]]) -> Vec<[String; 2]> {
    list.iter().map(|[s, e]| [norm(s), norm(e)]).collect()
}

/// A 422 naming `field`.
fn assert_invalid(server: &TestServer, path: &str, body: Value, field: &str) -> Value {
    let (status, answer) = server.post(path, body.clone());
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{path} {body} should be a 422: {answer}"
    );
    assert_eq!(answer["field"], field, "{path} {body}: {answer}");
    assert!(answer["error"].is_string(), "error body {answer}");
    answer
}

// ----------------------------------------------------------------------------------------
// 1. The original service's example
// ----------------------------------------------------------------------------------------

/// Three users on Monday 2026-03-02, all times UTC, a one-hour meeting:
/// - ann (no working hours) is in a long session 15:00–23:30;
/// - bob works an overnight shift 14:00–01:00 every day and has a call 18:00–19:00;
/// - cid (Berlin, no working hours, so around the clock) has a meeting 13:00–14:00 UTC.
///
/// From 16:00: ann is busy until 23:30, bob's shift runs until 01:00, cid is free, so
/// 23:30–00:30 (next day). From 14:00: everyone is free until ann's 15:00, so 14:00–15:00.
#[test]
fn original_example_three_users() {
    let server = TestServer::start();
    server.user("ann", json!({}));
    server.user(
        "bob",
        json!({"work_days": work_days("mon", "sun", "14:00", "01:00")}),
    );
    server.user("cid", json!({"timezone": "Europe/Berlin"}));
    event(
        &server,
        "ann",
        "2026-03-02T15:00:00Z",
        "2026-03-02T23:30:00Z",
        json!({}),
    );
    event(
        &server,
        "bob",
        "2026-03-02T18:00:00Z",
        "2026-03-02T19:00:00Z",
        json!({}),
    );
    // Naive times of an event are in its author's zone: 14:00 Berlin (CET) = 13:00 UTC.
    event(
        &server,
        "cid",
        "2026-03-02T14:00:00",
        "2026-03-02T15:00:00",
        json!({}),
    );
    let all = ["ann", "bob", "cid"];

    let a = first_slot(&server, &all, "2026-03-02T16:00:00", json!("01:00"));
    assert_slot(&a, "2026-03-02T23:30:00Z", "2026-03-03T00:30:00Z");

    let a = first_slot(&server, &all, "2026-03-02T14:00:00", json!("01:00"));
    assert_slot(&a, "2026-03-02T14:00:00Z", "2026-03-02T15:00:00Z");

    // From 13:30 cid is still in her meeting until 14:00.
    let a = first_slot(&server, &all, "2026-03-02T13:30:00Z", json!(3600));
    assert_slot(&a, "2026-03-02T14:00:00Z", "2026-03-02T15:00:00Z");

    // 61 minutes no longer fit before ann's 15:00: 23:30–00:31 still ends inside bob's shift.
    let a = first_slot(&server, &all, "2026-03-02T14:00:00Z", json!(61 * 60));
    assert_slot(&a, "2026-03-02T23:30:00Z", "2026-03-03T00:31:00Z");

    // 91 minutes from 16:00 overrun bob's shift end (01:00), so the next day at 14:00.
    let a = first_slot(&server, &all, "2026-03-02T16:00:00Z", json!("01:31"));
    assert_slot(&a, "2026-03-03T14:00:00Z", "2026-03-03T15:31:00Z");

    // An offset in the input is honoured: 17:00+01:00 is 16:00 UTC; the answer is in UTC.
    let a = first_slot(&server, &all, "2026-03-02T17:00:00+01:00", json!("01:00"));
    assert_slot(&a, "2026-03-02T23:30:00Z", "2026-03-03T00:30:00Z");

    // Listing a login twice changes nothing.
    let a = first_slot(
        &server,
        &["ann", "bob", "ann", "cid"],
        "2026-03-02T16:00:00",
        json!("01:00"),
    );
    assert_slot(&a, "2026-03-02T23:30:00Z", "2026-03-03T00:30:00Z");
}

// ----------------------------------------------------------------------------------------
// 2. Tokyo + Berlin + New York
// ----------------------------------------------------------------------------------------

/// Monday to Friday in January (no DST anywhere involved):
/// - Tokyo 09:00–18:00 JST (UTC+9)  = 00:00–09:00 UTC, same UTC date;
/// - Berlin 08:00–17:00 CET (UTC+1) = 07:00–16:00 UTC;
/// - New York 03:30–12:00 EST (UTC−5) = 08:30–17:00 UTC.
///
/// Common band: 08:30–09:00 UTC on each weekday, exactly 30 minutes.
///
/// A 31-minute meeting never fits in winter. New York moves to EDT on Sunday 2026-03-08
/// (03:30 EDT = 07:30 UTC) while Berlin stays on CET until 2026-03-29, so from Monday
/// 2026-03-09 the band is 07:30–09:00 UTC: that is where the default one-year horizon
/// finds it.
#[test]
fn tokyo_berlin_new_york_narrow_band() {
    let server = TestServer::start();
    server.user(
        "tokyo",
        json!({"timezone": "Asia/Tokyo", "work_days": work_days("mon", "fri", "09:00", "18:00")}),
    );
    server.user(
        "berlin",
        json!({"timezone": "Europe/Berlin", "work_days": work_days("mon", "fri", "08:00", "17:00")}),
    );
    server.user(
        "newyork",
        json!({"timezone": "America/New_York", "work_days": work_days("mon", "fri", "03:30", "12:00")}),
    );
    let all = ["tokyo", "berlin", "newyork"];

    // Monday 2026-01-05.
    let a = first_slot(&server, &all, "2026-01-05T00:00:00Z", json!("00:30"));
    assert_slot(&a, "2026-01-05T08:30:00Z", "2026-01-05T09:00:00Z");

    // From Saturday: the weekend is skipped.
    let a = first_slot(&server, &all, "2026-01-03T10:00:00Z", json!("PT30M"));
    assert_slot(&a, "2026-01-05T08:30:00Z", "2026-01-05T09:00:00Z");

    // From Monday 08:45 the rest of the band is too short: Tuesday.
    let a = first_slot(&server, &all, "2026-01-05T08:45:00Z", json!(1800));
    assert_slot(&a, "2026-01-06T08:30:00Z", "2026-01-06T09:00:00Z");

    // From Friday 09:00: next Monday.
    let a = first_slot(&server, &all, "2026-01-09T09:00:00Z", json!(1800));
    assert_slot(&a, "2026-01-12T08:30:00Z", "2026-01-12T09:00:00Z");

    // Two users' overlap is wider: Tokyo and Berlin share 07:00–09:00 UTC.
    let a = first_slot(
        &server,
        &["tokyo", "berlin"],
        "2026-01-05T00:00:00Z",
        json!("02:00"),
    );
    assert_slot(&a, "2026-01-05T07:00:00Z", "2026-01-05T09:00:00Z");

    // 31 minutes: nothing in January ...
    let a = calc(
        &server,
        json!({"event_duration": "00:31", "start_calc_from": "2026-01-05T00:00:00Z",
               "user_logins": all, "search_until": "2026-02-01T00:00:00Z"}),
    );
    assert_no_slot(&a);
    // ... and with the default horizon the first Monday after New York's DST switch.
    let a = first_slot(&server, &all, "2026-01-05T00:00:00Z", json!("00:31"));
    assert_slot(&a, "2026-03-09T07:30:00Z", "2026-03-09T08:01:00Z");
}

// ----------------------------------------------------------------------------------------
// 3. Overnight shift meets day shift
// ----------------------------------------------------------------------------------------

/// nina works nights in Berlin, Monday to Friday 22:00–06:00 CET (= 21:00–05:00 UTC,
/// each shift belonging to the day it starts); dan works days in New York 09:00–17:00 EST
/// (= 14:00–22:00 UTC). They overlap 21:00–22:00 UTC on Monday to Friday.
#[test]
fn overnight_shift_meets_day_shift() {
    let server = TestServer::start();
    server.user(
        "nina",
        json!({"timezone": "Europe/Berlin", "work_days": work_days("mon", "fri", "22:00", "06:00")}),
    );
    server.user(
        "dan",
        json!({"timezone": "America/New_York", "work_days": work_days("mon", "fri", "09:00", "17:00")}),
    );
    let both = ["nina", "dan"];

    let a = first_slot(&server, &both, "2026-01-05T00:00:00Z", json!("01:00"));
    assert_slot(&a, "2026-01-05T21:00:00Z", "2026-01-05T22:00:00Z");

    // Friday's shifts still overlap (nina's Friday night runs into Saturday).
    let a = first_slot(&server, &both, "2026-01-09T21:30:00Z", json!("00:30"));
    assert_slot(&a, "2026-01-09T21:30:00Z", "2026-01-09T22:00:00Z");
    // A minute later only 29 minutes are left on Friday: next Monday.
    let a = first_slot(&server, &both, "2026-01-09T21:31:00Z", json!("00:30"));
    assert_slot(&a, "2026-01-12T21:00:00Z", "2026-01-12T21:30:00Z");
}

/// The search asks the database only for busy time overlapping the hours left open by
/// working hours (09:00–17:00 UTC here): meetings that start before or end after those
/// hours must still count. Monday 2026-01-05: 07:00–08:00 (outside), 08:00–09:30 and
/// 16:30–18:00 (across the edges), 10:30–11:00 (inside).
#[test]
fn meetings_across_the_edges_of_working_hours_still_block() {
    let server = TestServer::start();
    server.user(
        "edge",
        json!({"timezone": "UTC", "work_days": work_days("mon", "fri", "09:00", "17:00")}),
    );
    for (start, end) in [
        ("2026-01-05T07:00:00Z", "2026-01-05T08:00:00Z"),
        ("2026-01-05T08:00:00Z", "2026-01-05T09:30:00Z"),
        ("2026-01-05T10:30:00Z", "2026-01-05T11:00:00Z"),
        ("2026-01-05T16:30:00Z", "2026-01-05T18:00:00Z"),
    ] {
        event(&server, "edge", start, end, json!({}));
    }
    let a = first_slot(&server, &["edge"], "2026-01-05T00:00:00Z", json!("01:00"));
    assert_slot(&a, "2026-01-05T09:30:00Z", "2026-01-05T10:30:00Z");
    let a = first_slot(&server, &["edge"], "2026-01-05T16:00:00Z", json!("00:30"));
    assert_slot(&a, "2026-01-05T16:00:00Z", "2026-01-05T16:30:00Z");
    // A minute later 29 minutes are left before the 16:30 meeting: Tuesday morning.
    let a = first_slot(&server, &["edge"], "2026-01-05T16:01:00Z", json!("00:30"));
    assert_slot(&a, "2026-01-06T09:00:00Z", "2026-01-06T09:30:00Z");
}

/// The overnight shift counts for the day it starts: nina2 works only the shift starting
/// Monday (mon..mon 22:00–06:00 Berlin = Monday 21:00 UTC – Tuesday 05:00 UTC). early works
/// Tuesdays 03:00–12:00 UTC. So they meet on Tuesday 03:00–05:00 UTC and at no other time.
#[test]
fn overnight_shift_belongs_to_its_start_day() {
    let server = TestServer::start();
    server.user(
        "nina2",
        json!({"timezone": "Europe/Berlin", "work_days": work_days("mon", "mon", "22:00", "06:00")}),
    );
    server.user(
        "early",
        json!({"work_days": work_days("tue", "tue", "03:00", "12:00")}),
    );
    let both = ["nina2", "early"];
    let a = first_slot(&server, &both, "2026-01-05T00:00:00Z", json!("02:00"));
    assert_slot(&a, "2026-01-06T03:00:00Z", "2026-01-06T05:00:00Z");
    // Alone, nina2's Monday shift begins Monday 21:00 UTC.
    let a = first_slot(&server, &["nina2"], "2026-01-05T00:00:00Z", json!("08:00"));
    assert_slot(&a, "2026-01-05T21:00:00Z", "2026-01-06T05:00:00Z");
    // Two hours and a minute never fit.
    let a = calc(
        &server,
        json!({"event_duration": "02:01", "start_calc_from": "2026-01-05T00:00:00Z",
               "user_logins": both, "search_until": "2026-01-20T00:00:00Z"}),
    );
    assert_no_slot(&a);
}

// ----------------------------------------------------------------------------------------
// 4. Decisions
// ----------------------------------------------------------------------------------------

/// One meeting 09:00–10:00 UTC by auth with participants answering yes, no, maybe,
/// undecided and one who gave no answer (undecided by default). A 30-minute slot from 09:00
/// is at 09:00 for someone the meeting does not block, at 10:00 for someone it does.
#[test]
fn declined_does_not_block_maybe_and_undecided_do_author_always() {
    let server = TestServer::start();
    for login in [
        "auth",
        "p_yes",
        "p_no",
        "p_maybe",
        "p_undecided",
        "p_silent",
    ] {
        server.user(login, json!({}));
    }
    let id = event(
        &server,
        "auth",
        "2026-03-02T09:00:00Z",
        "2026-03-02T10:00:00Z",
        json!({"participants": [
            participant("p_yes", "yes"),
            participant("p_no", "no"),
            participant("p_maybe", "maybe"),
            participant("p_undecided", "undecided"),
            {"user": {"login": "p_silent"}},
        ]}),
    );
    let from = "2026-03-02T09:00:00Z";
    let slot_of = |login: &str| -> String {
        let a = first_slot(&server, &[login], from, json!("00:30"));
        out_time(&a["start"]).with_timezone(&Utc).to_rfc3339()
    };
    let at_nine = utc("2026-03-02T09:00:00Z").to_rfc3339();
    let at_ten = utc("2026-03-02T10:00:00Z").to_rfc3339();
    assert_eq!(slot_of("p_no"), at_nine, "declined does not block");
    for login in ["auth", "p_yes", "p_maybe", "p_undecided", "p_silent"] {
        assert_eq!(slot_of(login), at_ten, "{login} is blocked");
    }
    // Together, the declined one does not help: all blocked until 10:00.
    let a = first_slot(&server, &["p_no", "p_maybe"], from, json!("00:30"));
    assert_slot(&a, "2026-03-02T10:00:00Z", "2026-03-02T10:30:00Z");

    // Answers change it: maybe → no frees p_maybe; no → yes blocks p_no.
    answer(&server, id, "p_maybe", "no");
    answer(&server, id, "p_no", "yes");
    assert_eq!(slot_of("p_maybe"), at_nine);
    assert_eq!(slot_of("p_no"), at_ten);
    // The author declining their own meeting still blocks them.
    answer(&server, id, "auth", "no");
    assert_eq!(slot_of("auth"), at_ten, "the author always blocks");

    // free_busy agrees.
    let (status, fb) = server.post(
        FREE_BUSY,
        json!({"user_logins": ["auth", "p_maybe", "p_no"],
               "time_from": "2026-03-02T00:00:00Z", "time_to": "2026-03-03T00:00:00Z"}),
    );
    assert_eq!(status, StatusCode::OK, "{fb}");
    let meeting = expected(&[["2026-03-02T09:00:00+00:00", "2026-03-02T10:00:00+00:00"]]);
    assert_eq!(spans(&fb["auth"]["busy"]), meeting);
    assert_eq!(spans(&fb["p_no"]["busy"]), meeting);
    assert_eq!(spans(&fb["p_maybe"]["busy"]), expected(&[]));
}

/// `busy_events` (what the free-time queries read) is filled by migration 000005 on a
/// database that existed before it, and kept by triggers after. Both must give the same
/// rows: a database is taken back to before the migration and migrated again.
#[test]
fn busy_events_backfill_matches_what_the_triggers_keep() {
    let server = TestServer::start();
    for login in ["auth", "p_yes", "p_no", "p_later"] {
        server.user(login, json!({}));
    }
    let id = event(
        &server,
        "auth",
        "2026-03-02T09:00:00Z",
        "2026-03-02T10:00:00Z",
        json!({"participants": [
            participant("auth", "maybe"),
            participant("p_yes", "yes"),
            participant("p_no", "no"),
            {"user": {"login": "p_later"}},
        ], "repetition": {"type": "weekly", "weekly_days": ["mon", "wed"]}}),
    );
    let own = event(
        &server,
        "p_no",
        "2026-03-03T09:00:00Z",
        "2026-03-03T10:00:00Z",
        json!({}),
    );
    let solo = event(
        &server,
        "p_yes",
        "2026-03-05T09:00:00Z",
        "2026-03-05T10:00:00Z",
        json!({}),
    );
    answer(&server, id, "p_later", "no");
    answer(&server, id, "auth", "no"); // an author's answer: busy all the same
    answer(&server, id, "p_yes", "no");
    answer(&server, id, "p_yes", "yes");
    answer(&server, solo, "p_yes", "no"); // the author becomes a participant
    let who = server.sql(
        "SELECT string_agg(u.login || ':' || b.event_id, ',' ORDER BY b.event_id, u.login) \
         FROM busy_events b JOIN users u ON u.id = b.user_id",
    );
    assert_eq!(
        who.trim(),
        format!("auth:{id},p_yes:{id},p_no:{own},p_yes:{solo}")
    );
    let rows = "SELECT user_id, event_id, span, start_time, end_time, timezone, repeat_type, \
                repeat_each, repeat_weekly_days, repeat_monthly_last_week, repeat_due, start_wall \
                FROM busy_events ORDER BY event_id, user_id";
    let kept = server.sql(rows);

    let dbname = server.dbname.clone();
    drop(server);
    common::psql(
        &dbname,
        include_str!("../migrations/2026-11-27-000005_busy_events/down.sql"),
    );
    common::psql(
        &dbname,
        "DELETE FROM __diesel_schema_migrations WHERE version LIKE '%000005'",
    );
    assert!(common::psql(&dbname, "SELECT to_regclass('busy_events')")
        .trim()
        .is_empty());

    let server = TestServer::with_yaml_in(&dbname, "");
    assert_eq!(server.sql(rows), kept);
    // The triggers are back too.
    answer(&server, id, "p_later", "yes");
    let a = first_slot(
        &server,
        &["p_later"],
        "2026-03-04T09:00:00Z",
        json!("00:30"),
    );
    assert_slot(&a, "2026-03-04T10:00:00Z", "2026-03-04T10:30:00Z");
}

// ----------------------------------------------------------------------------------------
// 5. Recurring busy blocks
// ----------------------------------------------------------------------------------------

/// rec (UTC, no working hours) has a daily 09:00–17:00 block from Monday 2026-03-02.
/// wk (Berlin) has a weekly Thursday 18:00–19:00 Berlin meeting: 17:00–18:00 UTC in March
/// before Berlin's DST switch (2026-03-29), 16:00–17:00 UTC after it.
#[test]
fn recurring_busy_blocks() {
    let server = TestServer::start();
    server.user("rec", json!({}));
    server.user("wk", json!({"timezone": "Europe/Berlin"}));
    event(
        &server,
        "rec",
        "2026-03-02T09:00:00Z",
        "2026-03-02T17:00:00Z",
        json!({"repetition": {"type": "daily"}}),
    );
    event(
        &server,
        "wk",
        "2026-03-05T18:00:00",
        "2026-03-05T19:00:00",
        json!({"repetition": {"type": "weekly", "weekly_days": ["thu"]}}),
    );

    // Thursday 2026-03-05 from 09:00: rec is blocked until 17:00.
    let a = first_slot(&server, &["rec"], "2026-03-05T09:00:00Z", json!("01:00"));
    assert_slot(&a, "2026-03-05T17:00:00Z", "2026-03-05T18:00:00Z");
    // From 08:30 half an hour fits before the block, an hour does not.
    let a = first_slot(&server, &["rec"], "2026-03-05T08:30:00Z", json!("00:30"));
    assert_slot(&a, "2026-03-05T08:30:00Z", "2026-03-05T09:00:00Z");
    let a = first_slot(&server, &["rec"], "2026-03-05T08:30:00Z", json!("01:00"));
    assert_slot(&a, "2026-03-05T17:00:00Z", "2026-03-05T18:00:00Z");
    // The 16 h night between blocks fits 16 h exactly; 16 h 1 min never fits.
    let a = first_slot(&server, &["rec"], "2026-03-10T12:00:00Z", json!("16:00"));
    assert_slot(&a, "2026-03-10T17:00:00Z", "2026-03-11T09:00:00Z");
    let a = calc(
        &server,
        json!({"event_duration": "16:01", "start_calc_from": "2026-03-10T12:00:00Z",
               "user_logins": ["rec"], "search_until": "2026-04-10T00:00:00Z"}),
    );
    assert_no_slot(&a);

    // Together with wk's Thursday meeting (17:00–18:00 UTC in CET): 18:00.
    let a = first_slot(
        &server,
        &["rec", "wk"],
        "2026-03-05T09:00:00Z",
        json!("01:00"),
    );
    assert_slot(&a, "2026-03-05T18:00:00Z", "2026-03-05T19:00:00Z");
    // Thursday 2026-04-02, CEST: wk's meeting is 16:00–17:00 UTC, inside rec's block.
    let a = first_slot(
        &server,
        &["rec", "wk"],
        "2026-04-02T09:00:00Z",
        json!("01:00"),
    );
    assert_slot(&a, "2026-04-02T17:00:00Z", "2026-04-02T18:00:00Z");

    // A daily series with a due date stops: last occurrence starts 2026-03-04 09:00.
    server.user("rec2", json!({}));
    event(
        &server,
        "rec2",
        "2026-03-02T09:00:00Z",
        "2026-03-02T17:00:00Z",
        json!({"repetition": {"type": "daily", "due_date": "2026-03-04T09:00:00Z"}}),
    );
    let a = first_slot(&server, &["rec2"], "2026-03-04T08:00:00Z", json!("02:00"));
    assert_slot(&a, "2026-03-04T17:00:00Z", "2026-03-04T19:00:00Z");
    let a = first_slot(&server, &["rec2"], "2026-03-05T08:00:00Z", json!("02:00"));
    assert_slot(&a, "2026-03-05T08:00:00Z", "2026-03-05T10:00:00Z");
}

// ----------------------------------------------------------------------------------------
// 6. DST days
// ----------------------------------------------------------------------------------------

/// berta works every day 09:00–18:00 Berlin time. On Sunday 2026-03-29 Berlin goes from
/// CET (+01) to CEST (+02) at 01:00 UTC; on Sunday 2026-10-25 back at 01:00 UTC. 09:00
/// local is 08:00 UTC on CET days and 07:00 UTC on CEST days, and the working day is
/// 9 hours long on both transition days.
#[test]
fn dst_days_keep_wall_clock_working_hours() {
    let server = TestServer::start();
    server.user(
        "berta",
        json!({"timezone": "Europe/Berlin", "work_days": work_days("mon", "sun", "09:00", "18:00")}),
    );
    let b = ["berta"];
    let a = first_slot(&server, &b, "2026-03-28T00:00:00Z", json!("01:00"));
    assert_slot(&a, "2026-03-28T08:00:00Z", "2026-03-28T09:00:00Z");
    let a = first_slot(&server, &b, "2026-03-29T00:00:00Z", json!("01:00"));
    assert_slot(&a, "2026-03-29T07:00:00Z", "2026-03-29T08:00:00Z");
    let a = first_slot(&server, &b, "2026-03-29T00:00:00Z", json!("09:00"));
    assert_slot(&a, "2026-03-29T07:00:00Z", "2026-03-29T16:00:00Z");
    let a = first_slot(&server, &b, "2026-10-24T00:00:00Z", json!("01:00"));
    assert_slot(&a, "2026-10-24T07:00:00Z", "2026-10-24T08:00:00Z");
    let a = first_slot(&server, &b, "2026-10-25T00:00:00Z", json!("01:00"));
    assert_slot(&a, "2026-10-25T08:00:00Z", "2026-10-25T09:00:00Z");
    let a = first_slot(&server, &b, "2026-10-25T00:00:00Z", json!("09:00"));
    assert_slot(&a, "2026-10-25T08:00:00Z", "2026-10-25T17:00:00Z");
    // The working day is never longer than 9 hours, transition days included.
    let a = calc(
        &server,
        json!({"event_duration": "09:01", "start_calc_from": "2026-03-27T00:00:00Z",
               "user_logins": b, "search_until": "2026-03-31T00:00:00Z"}),
    );
    assert_no_slot(&a);
    let a = calc(
        &server,
        json!({"event_duration": "09:01", "start_calc_from": "2026-10-23T00:00:00Z",
               "user_logins": b, "search_until": "2026-10-27T00:00:00Z"}),
    );
    assert_no_slot(&a);

    // free_busy on the spring-forward day, in berta's own offsets, which change mid-list.
    let (status, fb) = server.post(
        FREE_BUSY,
        json!({"user_logins": b, "time_from": "2026-03-29T00:00:00Z", "time_to": "2026-03-30T00:00:00Z"}),
    );
    assert_eq!(status, StatusCode::OK, "{fb}");
    assert_eq!(
        spans(&fb["berta"]["off_hours"]),
        expected(&[
            ["2026-03-29T01:00:00+01:00", "2026-03-29T09:00:00+02:00"],
            ["2026-03-29T18:00:00+02:00", "2026-03-30T02:00:00+02:00"],
        ])
    );
    assert_eq!(spans(&fb["berta"]["busy"]), expected(&[]));
}

// ----------------------------------------------------------------------------------------
// 7. No slot within the horizon
// ----------------------------------------------------------------------------------------

/// hermit is busy 2026-03-02 00:00 – 2026-03-10 00:00 UTC.
#[test]
fn no_slot_within_the_horizon_is_200_with_nulls() {
    let server = TestServer::start();
    server.user("hermit", json!({}));
    event(
        &server,
        "hermit",
        "2026-03-02T00:00:00Z",
        "2026-03-10T00:00:00Z",
        json!({}),
    );
    let body = |until: &str, limit: Option<i64>| {
        let mut body = json!({"event_duration": "01:00", "start_calc_from": "2026-03-02T00:00:00Z",
                              "user_logins": ["hermit"], "search_until": until});
        if let Some(limit) = limit {
            body["limit"] = json!(limit);
        }
        body
    };
    assert_no_slot(&calc(&server, body("2026-03-09T00:00:00Z", None)));
    // The slot must end by search_until: 00:59 after the block is not enough ...
    assert_no_slot(&calc(&server, body("2026-03-10T00:59:00Z", None)));
    // ... ending exactly at search_until is.
    let a = calc(&server, body("2026-03-10T01:00:00Z", None));
    assert_slot(&a, "2026-03-10T00:00:00Z", "2026-03-10T01:00:00Z");
    // Naive search_until is UTC too.
    let a = calc(&server, body("2026-03-10T01:00:00", None));
    assert_slot(&a, "2026-03-10T00:00:00Z", "2026-03-10T01:00:00Z");
    // With limit > 1 and nothing found, `slots` is present and empty.
    let a = calc(&server, body("2026-03-09T00:00:00Z", Some(3)));
    assert_eq!(a, json!({"start": null, "end": null, "slots": []}));
    // The default horizon (365 days) finds it.
    let a = first_slot(&server, &["hermit"], "2026-03-02T00:00:00Z", json!("01:00"));
    assert_slot(&a, "2026-03-10T00:00:00Z", "2026-03-10T01:00:00Z");
    // A default horizon is 365 days: a user busy for 400 days has no slot by default.
    server.user("monk", json!({}));
    event(
        &server,
        "monk",
        "2026-01-01T00:00:00Z",
        "2027-02-05T00:00:00Z",
        json!({}),
    );
    let a = first_slot(&server, &["monk"], "2026-01-01T00:00:00Z", json!("01:00"));
    assert_no_slot(&a);
}

/// dense is busy every day 00:00–23:30 UTC from 2026-03-01 until the occurrence of
/// 2026-04-15, so the first free hour starts 2026-04-15 23:30. With a budget of 20
/// occurrences per user and window, the search cannot take the rest of the horizon at once:
/// it goes on in shorter windows rather than failing. free/busy has no such way out.
#[test]
fn a_calendar_denser_than_the_budget_is_searched_in_shorter_windows() {
    let server = TestServer::with_yaml("limits:\n  max_occurrences: 20\n");
    server.user("dense", json!({}));
    event(
        &server,
        "dense",
        "2026-03-01T00:00:00Z",
        "2026-03-01T23:30:00Z",
        json!({"repetition": {"type": "daily", "due_date": "2026-04-15T00:00:00Z"}}),
    );
    let a = first_slot(&server, &["dense"], "2026-03-01T00:00:00Z", json!("01:00"));
    assert_slot(&a, "2026-04-15T23:30:00Z", "2026-04-16T00:30:00Z");
    let a = calc(
        &server,
        json!({"event_duration": "01:00", "start_calc_from": "2026-03-01T00:00:00Z",
               "user_logins": ["dense"], "search_until": "2026-04-15T23:59:00Z"}),
    );
    assert_no_slot(&a);
    let (status, body) = server.post(
        "/funcs/free_busy",
        json!({"user_logins": ["dense"], "time_from": "2026-03-01T00:00:00Z",
               "time_to": "2026-04-16T00:00:00Z"}),
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "user_logins", "{body}");
}

/// The search looks at the first 7 days, then at the rest of the horizon; a slot straddling
/// the first window's end, or the second of two slots lying beyond it, must not be lost or
/// moved. Groups of 20 or more search the whole horizon at once: the same answers.
/// wait is busy from Monday 2026-03-02 00:00 UTC for 6 days 23 h 30 min, i.e. until
/// 2026-03-08 23:30 UTC.
#[test]
fn slots_across_the_first_search_window_are_found() {
    let server = TestServer::start();
    server.user("wait", json!({}));
    event(
        &server,
        "wait",
        "2026-03-02T00:00:00Z",
        "2026-03-08T23:30:00Z",
        json!({}),
    );
    let idle: Vec<String> = (0..19).map(|i| format!("idle-{i}")).collect();
    for login in &idle {
        server.user(login, json!({}));
    }
    let large: Vec<&str> = std::iter::once("wait")
        .chain(idle.iter().map(String::as_str))
        .collect();
    for group in [&["wait"][..], &large] {
        // 23:30–00:30 straddles 2026-03-09 00:00, the end of the first 7-day window.
        let a = first_slot(&server, group, "2026-03-02T00:00:00Z", json!("01:00"));
        assert_slot(&a, "2026-03-08T23:30:00Z", "2026-03-09T00:30:00Z");
        // 30 minutes fit exactly before the window end; the next two lie beyond it.
        let a = calc(
            &server,
            json!({"event_duration": "00:30", "start_calc_from": "2026-03-02T00:00:00Z",
                   "user_logins": group, "limit": 3}),
        );
        let slots = a["slots"].as_array().expect("slots");
        assert_eq!(slots.len(), 3, "{a}");
        assert_utc_span(&slots[0], "2026-03-08T23:30:00Z", "2026-03-09T00:00:00Z");
        assert_utc_span(&slots[1], "2026-03-09T00:00:00Z", "2026-03-09T00:30:00Z");
        assert_utc_span(&slots[2], "2026-03-09T00:30:00Z", "2026-03-09T01:00:00Z");
        // A meeting longer than the first window (10 days) still starts right after the block.
        let a = first_slot(&server, group, "2026-03-02T00:00:00Z", json!("P10D"));
        assert_slot(&a, "2026-03-08T23:30:00Z", "2026-03-18T23:30:00Z");
    }
}

// ----------------------------------------------------------------------------------------
// 8. limit and slots
// ----------------------------------------------------------------------------------------

/// sam is busy 10:30–11:00 and 12:00–12:10 UTC on 2026-03-02. 40-minute slots from 09:00,
/// packed earliest first and never overlapping: 09:00–09:40, 09:40–10:20, (10:20–11:00 hits
/// 10:30) 11:00–11:40, (11:40–12:20 hits 12:00) 12:10–12:50, 12:50–13:30, ...
#[test]
fn limit_returns_non_overlapping_earliest_slots() {
    let server = TestServer::start();
    server.user("sam", json!({}));
    event(
        &server,
        "sam",
        "2026-03-02T10:30:00Z",
        "2026-03-02T11:00:00Z",
        json!({}),
    );
    event(
        &server,
        "sam",
        "2026-03-02T12:00:00Z",
        "2026-03-02T12:10:00Z",
        json!({}),
    );
    let body = |limit: Value| {
        let mut body = json!({"event_duration": "00:40", "start_calc_from": "2026-03-02T09:00:00Z",
                              "user_logins": ["sam"]});
        if !limit.is_null() {
            body["limit"] = limit;
        }
        body
    };
    let a = calc(&server, body(json!(3)));
    assert_utc_span(&a, "2026-03-02T09:00:00Z", "2026-03-02T09:40:00Z");
    let slots = a["slots"].as_array().expect("slots with limit 3");
    assert_eq!(slots.len(), 3, "{a}");
    assert_utc_span(&slots[0], "2026-03-02T09:00:00Z", "2026-03-02T09:40:00Z");
    assert_utc_span(&slots[1], "2026-03-02T09:40:00Z", "2026-03-02T10:20:00Z");
    assert_utc_span(&slots[2], "2026-03-02T11:00:00Z", "2026-03-02T11:40:00Z");

    let a = calc(&server, body(json!(5)));
    let slots = a["slots"].as_array().expect("slots with limit 5");
    assert_eq!(slots.len(), 5, "{a}");
    assert_utc_span(&slots[3], "2026-03-02T12:10:00Z", "2026-03-02T12:50:00Z");
    assert_utc_span(&slots[4], "2026-03-02T12:50:00Z", "2026-03-02T13:30:00Z");
    // Earliest first, non-overlapping.
    for pair in slots.windows(2) {
        assert!(
            out_time(&pair[0]["end"]) <= out_time(&pair[1]["start"]),
            "{a}"
        );
    }

    // No limit or limit 1: only start/end.
    let a = calc(&server, body(Value::Null));
    assert_slot(&a, "2026-03-02T09:00:00Z", "2026-03-02T09:40:00Z");
    let a = calc(&server, body(json!(1)));
    assert_slot(&a, "2026-03-02T09:00:00Z", "2026-03-02T09:40:00Z");
    let a = calc(&server, body(json!(2)));
    assert_eq!(a["slots"].as_array().map(Vec::len), Some(2), "{a}");

    // Fewer candidates than the limit before search_until: all of them.
    let mut short = body(json!(100));
    short["search_until"] = json!("2026-03-02T11:00:00Z");
    let a = calc(&server, short);
    let slots = a["slots"].as_array().expect("slots");
    assert_eq!(slots.len(), 2, "{a}");
    assert_utc_span(&slots[1], "2026-03-02T09:40:00Z", "2026-03-02T10:20:00Z");
}

// ----------------------------------------------------------------------------------------
// 9. A slot 300 days away
// ----------------------------------------------------------------------------------------

/// From Thursday 2026-01-01: far is busy every day around the clock (a daily 24-hour block,
/// last occurrence starting 2026-10-27 00:00 UTC, so busy until 2026-10-28 00:00 UTC, 300
/// days on); away is on a 150-day trip; office works Monday to Friday 09:00–18:00 Berlin
/// and has a stand-up every workday 09:00–10:00 Berlin. 2026-10-28 is a Wednesday and
/// Berlin is back on CET (+01) since 2026-10-25: office's day is 08:00–17:00 UTC, the
/// stand-up 08:00–09:00 UTC, so the slot is 09:00–10:00 UTC that day.
#[test]
fn slot_300_days_away_is_found_quickly() {
    let server = TestServer::start();
    server.user("far", json!({}));
    server.user("away", json!({}));
    server.user(
        "office",
        json!({"timezone": "Europe/Berlin", "work_days": work_days("mon", "fri", "09:00", "18:00")}),
    );
    event(
        &server,
        "far",
        "2026-01-01T00:00:00Z",
        "2026-01-02T00:00:00Z",
        json!({"repetition": {"type": "daily", "due_date": "2026-10-27T00:00:00Z"}}),
    );
    event(
        &server,
        "away",
        "2026-01-01T00:00:00Z",
        "2026-05-31T00:00:00Z",
        json!({}),
    );
    // Plenty of noise for office in the meantime.
    event(
        &server,
        "office",
        "2026-01-05T09:00:00",
        "2026-01-05T10:00:00",
        json!({"repetition": {"type": "workday"}}),
    );
    assert_eq!(
        (utc("2026-01-01T00:00:00Z") + Duration::days(300)).to_rfc3339(),
        utc("2026-10-28T00:00:00Z").to_rfc3339()
    );
    let started = Instant::now();
    let a = first_slot(
        &server,
        &["far", "away", "office"],
        "2026-01-01T00:00:00Z",
        json!("01:00"),
    );
    let took = started.elapsed();
    // office's daily 09:00–10:00 Berlin stand-up: the slot is after it, 10:00 CET = 09:00 UTC.
    assert_slot(&a, "2026-10-28T09:00:00Z", "2026-10-28T10:00:00Z");
    assert!(
        took < StdDuration::from_secs(5),
        "a slot 300 days away took {took:?}"
    );
    // Without the stand-up owner, only far and away: midnight UTC.
    let a = first_slot(&server, &["far", "away"], "2026-01-01T00:00:00Z", json!(60));
    assert_slot(&a, "2026-10-28T00:00:00Z", "2026-10-28T00:01:00Z");
}

// ----------------------------------------------------------------------------------------
// 10. Validation
// ----------------------------------------------------------------------------------------

#[test]
fn calc_free_slot_rejects_bad_requests() {
    let server = TestServer::start();
    server.user("ann", json!({}));
    let base = || {
        json!({"event_duration": "01:00", "start_calc_from": "2026-03-02T09:00:00Z",
               "user_logins": ["ann"]})
    };
    let with = |field: &str, value: Value| {
        let mut body = base();
        body[field] = value;
        body
    };
    // The base request is fine.
    calc(&server, base());

    // Unknown logins: all of them listed, in request order.
    let a = assert_invalid(
        &server,
        CALC,
        with("user_logins", json!(["ghost", "ann", "phantom", "spook"])),
        "user_logins",
    );
    assert_eq!(a["detail"], json!(["ghost", "phantom", "spook"]), "{a}");

    // 0 and more than 100 distinct logins (a repeated login is one user).
    assert_invalid(&server, CALC, with("user_logins", json!([])), "user_logins");
    let many: Vec<String> = (0..101).map(|i| format!("u{i}")).collect();
    assert_invalid(
        &server,
        CALC,
        with("user_logins", json!(many)),
        "user_logins",
    );
    let hundred = vec!["ann"; 100];
    calc(&server, with("user_logins", json!(hundred)));
    let mut hundred_one: Vec<String> = (0..100).map(|i| format!("u{i}")).collect();
    hundred_one.push("u0".into());
    let a = assert_invalid(
        &server,
        CALC,
        with("user_logins", json!(hundred_one)),
        "user_logins",
    );
    let unknown = a["detail"].as_array().map(Vec::len);
    assert_eq!(unknown, Some(100), "100 distinct logins, all unknown: {a}");
    calc(&server, with("user_logins", json!(vec!["ann"; 101])));
    // A malformed login names its position.
    assert_invalid(
        &server,
        CALC,
        with("user_logins", json!(["ann", "no spaces"])),
        "user_logins[1]",
    );

    // Durations: zero, negative, garbage.
    for bad in [
        json!(0),
        json!(-60),
        json!(-0.5),
        json!("00:00"),
        json!("00:00:00"),
        json!("PT0S"),
        json!("abc"),
        json!("-01:00"),
        json!("1h"),
        json!(""),
        json!(true),
        json!(null),
        json!("P1M"),
    ] {
        assert_invalid(
            &server,
            CALC,
            with("event_duration", bad.clone()),
            "event_duration",
        );
    }
    // Missing required fields.
    for field in ["event_duration", "start_calc_from", "user_logins"] {
        let mut body = base();
        body.as_object_mut().unwrap().remove(field);
        let (status, a) = server.post(CALC, body);
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "without {field}: {a}"
        );
    }

    // Datetimes.
    assert_invalid(
        &server,
        CALC,
        with("start_calc_from", json!("yesterday")),
        "start_calc_from",
    );
    assert_invalid(
        &server,
        CALC,
        with("search_until", json!("2026-13-01T00:00:00Z")),
        "search_until",
    );
    // search_until not after start_calc_from; more than 5 years of search.
    for until in [
        "2026-03-01T09:00:00Z",
        "2026-03-02T09:00:00Z",
        "2026-03-02T10:00:00+01:00",
        "2031-03-12T09:00:00Z",
    ] {
        assert_invalid(
            &server,
            CALC,
            with("search_until", json!(until)),
            "search_until",
        );
    }
    // Four years is fine.
    calc(&server, with("search_until", json!("2030-03-02T09:00:00Z")));

    // limit.
    for bad in [json!(0), json!(101), json!(-1), json!(2.5), json!("3")] {
        assert_invalid(&server, CALC, with("limit", bad.clone()), "limit");
    }
    let a = calc(&server, with("limit", json!(100)));
    assert_eq!(a["slots"].as_array().map(Vec::len), Some(100), "{a}");

    // Malformed JSON: 400.
    for raw in [
        "{",
        r#"{"event_duration": "01:00", "user_logins": ["ann"],}"#,
        "not json",
        r#"{"event_duration": 60, "start_calc_from": "2026-03-02T09:00:00Z", "user_logins": ["ann"]} trailing"#,
    ] {
        let (status, a) = server.post_raw(CALC, raw);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{raw}: {a}");
        assert!(a["error"].is_string(), "{a}");
    }
    // A JSON value of the wrong shape: 422.
    let (status, a) = server.post_raw(CALC, "[1, 2]");
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{a}");

    // Unknown fields are ignored.
    calc(&server, with("colour", json!("blue")));
    // A login list that is not a list.
    assert_invalid(
        &server,
        CALC,
        with("user_logins", json!("ann")),
        "user_logins",
    );
    // The path works with a trailing slash too.
    let (status, a) = server.post("/funcs/calc_free_slot/", base());
    assert_eq!(status, StatusCode::OK, "{a}");
    let (status, a) = server.post(
        "/funcs/free_busy/",
        json!({"user_logins": ["ann"], "time_from": "2026-03-02T00:00:00Z",
               "time_to": "2026-03-03T00:00:00Z"}),
    );
    assert_eq!(status, StatusCode::OK, "{a}");
}

/// An absurdly long meeting is simply not found; it must not crash the search.
#[test]
fn huge_duration_is_no_slot_not_an_error() {
    let server = TestServer::start();
    server.user("ann", json!({}));
    let a = first_slot(&server, &["ann"], "2026-03-02T09:00:00Z", json!(1e12));
    assert_no_slot(&a);
    let a = first_slot(&server, &["ann"], "2026-03-02T09:00:00Z", json!("P1000W"));
    assert_no_slot(&a);
    // Exactly the horizon (365 days) fits for a user with no events.
    let a = first_slot(&server, &["ann"], "2026-03-02T09:00:00Z", json!("P365D"));
    assert_slot(&a, "2026-03-02T09:00:00Z", "2027-03-02T09:00:00Z");
}

/// The far end of the calendar: no 500s.
#[test]
fn extreme_dates_do_not_fail() {
    let server = TestServer::start();
    server.user("ann", json!({}));
    server.user(
        "ward",
        json!({"timezone": "America/New_York", "work_days": work_days("mon", "fri", "09:00", "17:00")}),
    );
    for from in ["9999-12-30T00:00:00Z", "0001-01-02T00:00:00Z"] {
        let (status, a) = server.post(
            CALC,
            json!({"event_duration": "00:30", "start_calc_from": from, "user_logins": ["ann", "ward"]}),
        );
        assert!(
            status == StatusCode::OK || status == StatusCode::UNPROCESSABLE_ENTITY,
            "from {from}: {status} {a}"
        );
    }
}

/// SPEC §3: datetimes are RFC 3339, whose years have four digits. The input accepts up to
/// 9999-12-31, and the default horizon (365 days) then reaches into year 10000: the answer
/// is written `+10000-01-01T00:30:00Z`, which no RFC 3339 parser (the API's own input
/// parser included) reads back. Expected: a 422, or an answer (or null) within year 9999.
#[test]

fn answers_stay_within_rfc3339_years() {
    let server = TestServer::start();
    server.user("ann", json!({}));
    let (status, a) = server.post(
        CALC,
        json!({"event_duration": "01:00", "start_calc_from": "9999-12-31T23:30:00Z",
               "user_logins": ["ann"]}),
    );
    assert!(
        status == StatusCode::OK || status == StatusCode::UNPROCESSABLE_ENTITY,
        "{status} {a}"
    );
    if status == StatusCode::OK {
        for key in ["start", "end"] {
            if let Some(text) = a[key].as_str() {
                assert!(
                    DateTime::parse_from_rfc3339(text).is_ok(),
                    "{key} {text:?} is not RFC 3339: {a}"
                );
            }
        }
    }
}

/// With no `search_until`, a start at the last writable instant leaves nothing to search:
/// the 422 names the field the client sent.
#[test]
fn no_room_before_year_10000_is_422_on_start_calc_from() {
    let server = TestServer::start();
    server.user("ann", json!({}));
    assert_invalid(
        &server,
        CALC,
        json!({"event_duration": "01:00", "start_calc_from": "9999-12-31T23:59:59.999999999Z",
               "user_logins": ["ann"]}),
        "start_calc_from",
    );
    // Less than a second left is room to search, too short for the meeting.
    let (status, answer) = server.post(
        CALC,
        json!({"event_duration": "01:00", "start_calc_from": "9999-12-31T23:59:59Z",
               "user_logins": ["ann"]}),
    );
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer, json!({"start": null, "end": null}));
}

/// Before standard time, zones have offsets with seconds (New York's local mean time is
/// −04:56:02). RFC 3339 offsets have minutes only, and free_busy writes the local time with
/// the offset's seconds cut off, so every instant it reports there is 2 s off: a meeting at
/// 15:00:00 UTC comes back as `10:03:58-04:56`, i.e. 14:59:58 UTC.
/// Expected: the written datetime denotes the same instant (e.g. fall back to UTC, or adjust
/// the wall time, when the zone's offset is not whole minutes).
#[test]

fn free_busy_instants_survive_offsets_with_seconds() {
    let server = TestServer::start();
    server.user("oldny", json!({"timezone": "America/New_York"}));
    event(
        &server,
        "oldny",
        "1880-03-01T15:00:00Z",
        "1880-03-01T16:00:00Z",
        json!({}),
    );
    let (status, fb) = server.post(
        FREE_BUSY,
        json!({"user_logins": ["oldny"], "time_from": "1880-03-01T00:00:00Z",
               "time_to": "1880-03-02T00:00:00Z"}),
    );
    assert_eq!(status, StatusCode::OK, "{fb}");
    let busy = &fb["oldny"]["busy"][0];
    assert_eq!(
        (
            out_time(&busy["start"]).with_timezone(&Utc),
            out_time(&busy["end"]).with_timezone(&Utc)
        ),
        (utc("1880-03-01T15:00:00Z"), utc("1880-03-01T16:00:00Z")),
        "{fb}"
    );
}

// ----------------------------------------------------------------------------------------
// 11. free_busy
// ----------------------------------------------------------------------------------------

/// Busy time is found however far before the window an event starts. The database reads
/// events by how far they reach past their start (at most 24 hours, at most 400 days, or
/// more): one user per case on each side of those bounds, all busy on Sunday 2026-03-01
/// (UTC, no working hours), except `ended`, whose series stopped the day before.
#[test]
fn busy_time_is_found_however_far_back_it_starts() {
    let server = TestServer::start();
    let cases: [(&str, &str, &str, Value); 7] = [
        (
            "day_long",
            "2026-02-28T00:30:00Z",
            "2026-03-01T00:30:00Z",
            json!({}),
        ),
        (
            "just_over_a_day",
            "2026-02-28T00:00:00Z",
            "2026-03-01T01:00:00Z",
            json!({}),
        ),
        (
            "trip",
            "2025-01-26T00:00:00Z",
            "2026-03-01T02:00:00Z",
            json!({}),
        ),
        (
            "sabbatical",
            "2024-01-01T00:00:00Z",
            "2026-03-01T03:00:00Z",
            json!({}),
        ),
        (
            "forever",
            "2016-03-01T10:00:00Z",
            "2016-03-01T11:00:00Z",
            json!({"repetition": {"type": "daily"}}),
        ),
        (
            "year_of_sundays",
            "2025-03-02T12:00:00Z",
            "2025-03-02T13:00:00Z",
            json!({"repetition": {"type": "weekly", "weekly_days": ["sun"],
                               "due_date": "2026-03-30T00:00:00Z"}}),
        ),
        (
            "ended",
            "2016-01-01T10:00:00Z",
            "2016-01-01T11:00:00Z",
            json!({"repetition": {"type": "daily", "due_date": "2026-02-28T10:00:00Z"}}),
        ),
    ];
    for (login, start, end, extra) in &cases {
        server.user(login, json!({}));
        event(&server, login, start, end, extra.clone());
    }
    let reach = server.sql(
        "SELECT string_agg(u.login || ':' || b.reach, ',' ORDER BY b.event_id) \
         FROM busy_events b JOIN users u ON u.id = b.user_id",
    );
    assert_eq!(
        reach.trim(),
        "day_long:0,just_over_a_day:1,trip:1,sabbatical:2,forever:2,year_of_sundays:1,ended:2",
        "every class is covered"
    );
    let logins: Vec<&str> = cases.iter().map(|c| c.0).collect();
    let (status, fb) = server.post(
        FREE_BUSY,
        json!({"user_logins": logins,
               "time_from": "2026-03-01T00:00:00Z", "time_to": "2026-03-02T00:00:00Z"}),
    );
    assert_eq!(status, StatusCode::OK, "{fb}");
    let day = |from: &str, to: &str| {
        expected(&[[
            &format!("2026-03-01T{from}:00+00:00"),
            &format!("2026-03-01T{to}:00+00:00"),
        ]])
    };
    assert_eq!(spans(&fb["day_long"]["busy"]), day("00:00", "00:30"));
    assert_eq!(spans(&fb["just_over_a_day"]["busy"]), day("00:00", "01:00"));
    assert_eq!(spans(&fb["trip"]["busy"]), day("00:00", "02:00"));
    assert_eq!(spans(&fb["sabbatical"]["busy"]), day("00:00", "03:00"));
    assert_eq!(spans(&fb["forever"]["busy"]), day("10:00", "11:00"));
    assert_eq!(spans(&fb["year_of_sundays"]["busy"]), day("12:00", "13:00"));
    assert_eq!(spans(&fb["ended"]["busy"]), expected(&[]));
    let a = first_slot(&server, &logins, "2026-03-01T00:00:00Z", json!("01:00"));
    assert_slot(&a, "2026-03-01T03:00:00Z", "2026-03-01T04:00:00Z");
}

/// Monday 2026-01-05, window 00:00–24:00 UTC.
/// nyc (New York, EST −05:00, Monday–Friday 09:00–17:00 = 14:00–22:00 UTC) authors
/// 14:30–16:00 and 14:00–15:00 (overlapping → one 14:00–16:00 busy interval), 18:00–19:00,
/// and is invited to 20:00–21:00 but declined. utcy (UTC, no working hours) takes part in
/// 18:00–19:00 and authors 23:00–01:00 (clipped to the window) and a daily 06:00–06:30.
#[test]
fn free_busy_merges_sorts_and_knows_off_hours() {
    let server = TestServer::start();
    server.user(
        "nyc",
        json!({"timezone": "America/New_York", "work_days": work_days("mon", "fri", "09:00", "17:00")}),
    );
    server.user("utcy", json!({}));
    // Created out of order on purpose.
    event(
        &server,
        "nyc",
        "2026-01-05T18:00:00Z",
        "2026-01-05T19:00:00Z",
        json!({"participants": [participant("utcy", "yes")]}),
    );
    event(
        &server,
        "nyc",
        "2026-01-05T14:30:00Z",
        "2026-01-05T16:00:00Z",
        json!({}),
    );
    event(
        &server,
        "nyc",
        "2026-01-05T14:00:00Z",
        "2026-01-05T15:00:00Z",
        json!({}),
    );
    event(
        &server,
        "utcy",
        "2026-01-05T20:00:00Z",
        "2026-01-05T21:00:00Z",
        json!({"participants": [participant("nyc", "no")]}),
    );
    event(
        &server,
        "utcy",
        "2026-01-05T23:00:00Z",
        "2026-01-06T01:00:00Z",
        json!({}),
    );
    event(
        &server,
        "utcy",
        "2026-01-01T06:00:00Z",
        "2026-01-01T06:30:00Z",
        json!({"repetition": {"type": "daily"}}),
    );
    let (status, fb) = server.post(
        FREE_BUSY,
        json!({"user_logins": ["nyc", "utcy"],
               "time_from": "2026-01-05T00:00:00Z", "time_to": "2026-01-06T00:00:00Z"}),
    );
    assert_eq!(status, StatusCode::OK, "{fb}");
    let keys: Vec<&String> = fb.as_object().expect("a map by login").keys().collect();
    assert_eq!(keys, ["nyc", "utcy"], "{fb}");

    // nyc: in its own offset, −05:00.
    assert_eq!(
        spans(&fb["nyc"]["busy"]),
        expected(&[
            ["2026-01-05T09:00:00-05:00", "2026-01-05T11:00:00-05:00"],
            ["2026-01-05T13:00:00-05:00", "2026-01-05T14:00:00-05:00"],
        ]),
        "{fb}"
    );
    // The window starts Sunday 19:00 in New York; Monday's work is 09:00–17:00 there.
    assert_eq!(
        spans(&fb["nyc"]["off_hours"]),
        expected(&[
            ["2026-01-04T19:00:00-05:00", "2026-01-05T09:00:00-05:00"],
            ["2026-01-05T17:00:00-05:00", "2026-01-05T19:00:00-05:00"],
        ]),
        "{fb}"
    );
    for list in ["busy", "off_hours"] {
        for s in fb["nyc"][list].as_array().unwrap() {
            assert_eq!(out_time(&s["start"]).offset().local_minus_utc(), -5 * 3600);
            assert_eq!(out_time(&s["end"]).offset().local_minus_utc(), -5 * 3600);
        }
    }
    // utcy: sorted, clipped to the window, no off hours without work_days.
    assert_eq!(
        spans(&fb["utcy"]["busy"]),
        expected(&[
            ["2026-01-05T06:00:00+00:00", "2026-01-05T06:30:00+00:00"],
            ["2026-01-05T18:00:00+00:00", "2026-01-05T19:00:00+00:00"],
            ["2026-01-05T20:00:00+00:00", "2026-01-05T21:00:00+00:00"],
            ["2026-01-05T23:00:00+00:00", "2026-01-06T00:00:00+00:00"],
        ]),
        "{fb}"
    );
    assert_eq!(fb["utcy"]["off_hours"], json!([]), "{fb}");

    // Naive window bounds are UTC; a window on the weekend is all off hours for nyc.
    let (status, fb) = server.post(
        FREE_BUSY,
        json!({"user_logins": ["nyc"], "time_from": "2026-01-10T00:00:00", "time_to": "2026-01-11T00:00:00"}),
    );
    assert_eq!(status, StatusCode::OK, "{fb}");
    assert_eq!(
        spans(&fb["nyc"]["off_hours"]),
        expected(&[["2026-01-09T19:00:00-05:00", "2026-01-10T19:00:00-05:00"]])
    );
    assert_eq!(fb["nyc"]["busy"], json!([]));
}

#[test]
fn free_busy_rejects_bad_requests() {
    let server = TestServer::start();
    server.user("ann", json!({}));
    let base = || {
        json!({"user_logins": ["ann"], "time_from": "2026-03-02T00:00:00Z",
               "time_to": "2026-03-03T00:00:00Z"})
    };
    let with = |field: &str, value: Value| {
        let mut body = base();
        body[field] = value;
        body
    };
    let (status, _) = server.post(FREE_BUSY, base());
    assert_eq!(status, StatusCode::OK);
    let a = assert_invalid(
        &server,
        FREE_BUSY,
        with("user_logins", json!(["ann", "nobody", "noone"])),
        "user_logins",
    );
    assert_eq!(a["detail"], json!(["nobody", "noone"]));
    assert_invalid(
        &server,
        FREE_BUSY,
        with("user_logins", json!([])),
        "user_logins",
    );
    assert_invalid(
        &server,
        FREE_BUSY,
        with(
            "user_logins",
            json!((0..101).map(|i| format!("u{i}")).collect::<Vec<_>>()),
        ),
        "user_logins",
    );
    for to in [
        "2026-03-01T00:00:00Z",
        "2026-03-02T00:00:00Z",
        "2031-03-12T00:00:00Z",
    ] {
        assert_invalid(&server, FREE_BUSY, with("time_to", json!(to)), "time_to");
    }
    assert_invalid(
        &server,
        FREE_BUSY,
        with("time_from", json!("soon")),
        "time_from",
    );
    let mut missing = base();
    missing.as_object_mut().unwrap().remove("time_to");
    let (status, a) = server.post(FREE_BUSY, missing);
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{a}");
    let (status, a) = server.post_raw(FREE_BUSY, r#"{"user_logins": ["ann"]"#);
    assert_eq!(status, StatusCode::BAD_REQUEST, "{a}");
}

// ----------------------------------------------------------------------------------------
// 12. Duration formats
// ----------------------------------------------------------------------------------------

/// dora is busy 09:00–10:00 and 11:00–12:00 UTC: a 60-minute slot from 09:00 is 10:00,
/// 90 minutes is 12:00 — in every accepted notation.
#[test]
fn duration_formats_agree() {
    let server = TestServer::start();
    server.user("dora", json!({}));
    event(
        &server,
        "dora",
        "2026-03-02T09:00:00Z",
        "2026-03-02T10:00:00Z",
        json!({}),
    );
    event(
        &server,
        "dora",
        "2026-03-02T11:00:00Z",
        "2026-03-02T12:00:00Z",
        json!({}),
    );
    for hour in [
        json!(3600),
        json!(3600.0),
        json!("01:00"),
        json!("01:00:00"),
        json!("PT1H"),
        json!("PT60M"),
        json!("PT3600S"),
        json!("pt1h"),
    ] {
        let a = first_slot(&server, &["dora"], "2026-03-02T09:00:00Z", hour.clone());
        assert_slot(&a, "2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z");
    }
    for hour_and_half in [
        json!(5400),
        json!("01:30"),
        json!("01:30:00"),
        json!("PT1H30M"),
        json!("PT1.5H"),
    ] {
        let a = first_slot(
            &server,
            &["dora"],
            "2026-03-02T09:00:00Z",
            hour_and_half.clone(),
        );
        assert_slot(&a, "2026-03-02T12:00:00Z", "2026-03-02T13:30:00Z");
    }
    // Seconds are honoured: 3601 s does not fit in the 10:00–11:00 gap.
    let a = first_slot(
        &server,
        &["dora"],
        "2026-03-02T09:00:00Z",
        json!("01:00:01"),
    );
    assert_slot(&a, "2026-03-02T12:00:00Z", "2026-03-02T13:00:01Z");
}

// ----------------------------------------------------------------------------------------
// Property test against a brute-force oracle
// ----------------------------------------------------------------------------------------

/// xorshift64* — small, deterministic, good enough to pick scenarios.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn range(&mut self, lo: i64, hi_inclusive: i64) -> i64 {
        lo + self.below((hi_inclusive - lo + 1) as u64) as i64
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const ZONES: [Tz; 3] = [
    chrono_tz::UTC,
    chrono_tz::Europe::Berlin,
    chrono_tz::America::New_York,
];
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const DECISIONS: [&str; 4] = ["yes", "no", "maybe", "undecided"];

/// The oracle's own wall-time → instant rule (SPEC §5): a wall time in a spring-forward gap
/// moves forward by the gap (read it with the offset in force a day earlier, i.e. before
/// the gap); an ambiguous one takes the earlier instant.
fn oracle_instant(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, b) => a.min(b).with_timezone(&Utc),
        LocalResult::None => {
            let before = tz
                .offset_from_utc_datetime(&(local - Duration::days(1)))
                .fix();
            Utc.from_utc_datetime(&(local - before))
        }
    }
}

#[derive(Debug, Clone)]
struct PUser {
    login: String,
    tz: Tz,
    /// (day_from, day_to as 0 = Monday, time_from, time_to in minutes).
    work: Option<(u32, u32, u32, u32)>,
}

#[derive(Debug, Clone)]
struct PEvent {
    author: usize,
    participants: Vec<(usize, &'static str)>,
    tz: Tz,
    start_local: NaiveDateTime,
    end_local: NaiveDateTime,
    /// None: one-off; Some(None): daily forever; Some(Some(due)): daily until due (local).
    daily: Option<Option<NaiveDateTime>>,
}

impl PEvent {
    fn blocks(&self, user: usize) -> bool {
        self.author == user
            || self
                .participants
                .iter()
                .any(|(p, decision)| *p == user && *decision != "no")
    }

    /// Occurrences as instants, starting at or before `until`.
    fn occurrences(&self, until: DateTime<Utc>) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let start = oracle_instant(self.tz, self.start_local);
        let duration = oracle_instant(self.tz, self.end_local) - start;
        let mut list = vec![(start, start + duration)];
        if let Some(due) = self.daily {
            let due = due.map(|d| oracle_instant(self.tz, d));
            for k in 1.. {
                let local = self.start_local + Duration::days(k);
                let s = oracle_instant(self.tz, local);
                if s > until || due.is_some_and(|due| s > due) {
                    break;
                }
                if list.last().is_some_and(|(last, _)| s <= *last) {
                    continue;
                }
                list.push((s, s + duration));
            }
        }
        list
    }
}

fn naive_text(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// Minute marks over `[from, from + n minutes)`.
struct Minutes {
    from: DateTime<Utc>,
    marks: Vec<bool>,
}

impl Minutes {
    fn new(from: DateTime<Utc>, n: usize) -> Self {
        Minutes {
            from,
            marks: vec![false; n],
        }
    }
    fn mark(&mut self, start: DateTime<Utc>, end: DateTime<Utc>) {
        let n = self.marks.len() as i64;
        let a = (start - self.from).num_minutes().clamp(0, n);
        let b = (end - self.from).num_minutes().clamp(0, n);
        for m in a..b {
            self.marks[m as usize] = true;
        }
    }
}

/// Minutes a user works, over `[from, until)`.
fn oracle_working(user: &PUser, from: DateTime<Utc>, n: usize) -> Option<Minutes> {
    let (day_from, day_to, time_from, time_to) = user.work?;
    let mut working = Minutes::new(from, n);
    let until = from + Duration::minutes(n as i64);
    let first = from.with_timezone(&user.tz).date_naive() - Duration::days(3);
    let last = until.with_timezone(&user.tz).date_naive() + Duration::days(1);
    let mut date: NaiveDate = first;
    while date <= last {
        let weekday = date.weekday().num_days_from_monday();
        let works = (weekday + 7 - day_from) % 7 <= (day_to + 7 - day_from) % 7;
        if works {
            let at = |d: NaiveDate, minutes: u32| {
                oracle_instant(
                    user.tz,
                    d.and_hms_opt(minutes / 60, minutes % 60, 0).unwrap(),
                )
            };
            let end_date = if time_to <= time_from {
                date + Duration::days(1)
            } else {
                date
            };
            working.mark(at(date, time_from), at(end_date, time_to));
        }
        date += Duration::days(1);
    }
    Some(working)
}

struct Scenario {
    users: Vec<PUser>,
    events: Vec<PEvent>,
    queried: Vec<usize>,
    from: DateTime<Utc>,
    minutes: usize,
    duration: i64,
    limit: i64,
}

fn random_scenario(seed: u64, rng: &mut Rng) -> Scenario {
    // Ordinary days and the days around the 2026 DST switches of Berlin and New York.
    let base = match rng.below(3) {
        0 => NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + Duration::days(rng.range(0, 364)),
        _ => *rng.pick(&[
            NaiveDate::from_ymd_opt(2026, 3, 7).unwrap(),
            NaiveDate::from_ymd_opt(2026, 3, 27).unwrap(),
            NaiveDate::from_ymd_opt(2026, 10, 23).unwrap(),
            NaiveDate::from_ymd_opt(2026, 10, 31).unwrap(),
        ]),
    };
    let from = Utc.from_utc_datetime(&base.and_hms_opt(0, 0, 0).unwrap())
        + Duration::minutes(rng.range(0, 287) * 5);
    let user_count = rng.range(2, 3) as usize;
    let users: Vec<PUser> = (0..user_count)
        .map(|i| PUser {
            login: format!("p{seed}u{i}"),
            tz: *rng.pick(&ZONES),
            work: rng.chance(70).then(|| {
                let time_from = rng.range(0, 47) as u32 * 30;
                let time_to = if rng.chance(10) {
                    time_from
                } else {
                    rng.range(0, 47) as u32 * 30
                };
                (rng.below(7) as u32, rng.below(7) as u32, time_from, time_to)
            }),
        })
        .collect();
    let mut events = Vec::new();
    for _ in 0..rng.range(0, 3 * user_count as i64) {
        let tz = *rng.pick(&ZONES);
        let author = rng.below(user_count as u64) as usize;
        let local_from = from.with_timezone(&tz).naive_local();
        let start_local = local_from + Duration::minutes(rng.range(-2 * 96, 3 * 96) * 15);
        let daily = rng.chance(30);
        let length = if daily {
            rng.range(1, 48) * 15
        } else {
            rng.range(1, 64) * 15
        };
        let end_local = start_local + Duration::minutes(length);
        if oracle_instant(tz, end_local) <= oracle_instant(tz, start_local) {
            continue;
        }
        let mut participants = Vec::new();
        for p in 0..user_count {
            if p != author && rng.chance(40) {
                participants.push((p, *rng.pick(&DECISIONS)));
            }
        }
        let daily = daily.then(|| {
            rng.chance(50)
                .then(|| start_local + Duration::days(rng.range(0, 4)))
        });
        events.push(PEvent {
            author,
            participants,
            tz,
            start_local,
            end_local,
            daily,
        });
    }
    let queried = if user_count == 3 && rng.chance(30) {
        vec![0, 2]
    } else {
        (0..user_count).collect()
    };
    Scenario {
        users,
        events,
        queried,
        from,
        minutes: 3 * 24 * 60,
        duration: *rng.pick(&[15, 30, 45, 60, 90, 120, 180, 240, 480]),
        limit: rng.range(1, 3),
    }
}

/// Busy minutes (events and off hours) of each user over the scenario's range.
fn oracle_busy(s: &Scenario) -> Vec<(Minutes, Option<Minutes>)> {
    let until = s.from + Duration::minutes(s.minutes as i64);
    (0..s.users.len())
        .map(|u| {
            let mut busy = Minutes::new(s.from, s.minutes);
            for e in s.events.iter().filter(|e| e.blocks(u)) {
                for (a, b) in e.occurrences(until) {
                    busy.mark(a, b);
                }
            }
            (busy, oracle_working(&s.users[u], s.from, s.minutes))
        })
        .collect()
}

/// Earliest-first non-overlapping free slots (in minutes from `from`) for the queried users.
fn oracle_slots(s: &Scenario, per_user: &[(Minutes, Option<Minutes>)]) -> Vec<(i64, i64)> {
    let free: Vec<bool> = (0..s.minutes)
        .map(|m| {
            s.queried.iter().all(|u| {
                let (busy, working) = &per_user[*u];
                !busy.marks[m] && working.as_ref().is_none_or(|w| w.marks[m])
            })
        })
        .collect();
    let d = s.duration as usize;
    let mut slots = Vec::new();
    let mut t = 0usize;
    while slots.len() < s.limit as usize && t + d <= s.minutes {
        match (t..t + d).rev().find(|m| !free[*m]) {
            Some(blocked) => t = blocked + 1,
            None => {
                slots.push((t as i64, (t + d) as i64));
                t += d;
            }
        }
    }
    slots
}

fn create_scenario(server: &TestServer, s: &Scenario) {
    for user in &s.users {
        let mut extra = json!({"timezone": user.tz.name()});
        if let Some((df, dt, tf, tt)) = user.work {
            extra["work_days"] = json!({
                "day_from": DAYS[df as usize], "day_to": DAYS[dt as usize],
                "time_from": {"hour": tf / 60, "minute": tf % 60},
                "time_to": format!("{:02}:{:02}", tt / 60, tt % 60),
            });
        }
        server.user(&user.login, extra);
    }
    for e in &s.events {
        let mut body = json!({
            "author_login": s.users[e.author].login,
            "start_time": naive_text(e.start_local),
            "end_time": naive_text(e.end_local),
            "timezone": e.tz.name(),
            "participants": e.participants.iter()
                .map(|(p, d)| participant(&s.users[*p].login, d))
                .collect::<Vec<_>>(),
        });
        if let Some(due) = e.daily {
            body["repetition"] = json!({"type": "daily", "due_date": due.map(naive_text)});
        }
        server.event(body);
    }
}

/// For a few dozen random scenarios, `calc_free_slot` equals the brute-force answer (so it
/// is free for everyone, and no earlier free start exists), and `free_busy` marks exactly
/// the oracle's busy and off-hours minutes.
#[test]
fn calc_free_slot_matches_brute_force_oracle() {
    let server = TestServer::start();
    let started = Instant::now();
    let mut found = 0;
    for seed in 1..=50u64 {
        let mut rng = Rng::new(seed);
        let s = random_scenario(seed, &mut rng);
        create_scenario(&server, &s);
        let per_user = oracle_busy(&s);
        let want = oracle_slots(&s, &per_user);
        let until = s.from + Duration::minutes(s.minutes as i64);
        let logins: Vec<&str> = s
            .queried
            .iter()
            .map(|u| s.users[*u].login.as_str())
            .collect();
        let context = || {
            format!(
                "seed {seed}: from {} duration {} min limit {} users {:?} events {:#?}",
                s.from, s.duration, s.limit, s.users, s.events
            )
        };
        let mut body = json!({
            "event_duration": s.duration * 60,
            "start_calc_from": s.from.to_rfc3339(),
            "search_until": until.to_rfc3339(),
            "user_logins": logins,
        });
        if s.limit > 1 {
            body["limit"] = json!(s.limit);
        }
        let a = calc(&server, body);
        let at = |m: i64| s.from + Duration::minutes(m);
        let got_span = |v: &Value| -> (i64, i64) {
            let start = out_time(&v["start"]).with_timezone(&Utc);
            let end = out_time(&v["end"]).with_timezone(&Utc);
            ((start - s.from).num_minutes(), (end - s.from).num_minutes())
        };
        match want.first() {
            None => assert_eq!(
                (&a["start"], &a["end"]),
                (&Value::Null, &Value::Null),
                "expected no slot, got {a}; {}",
                context()
            ),
            Some(first) => {
                found += 1;
                assert_eq!(
                    got_span(&a),
                    *first,
                    "expected {}..{}, got {a}; {}",
                    at(first.0),
                    at(first.1),
                    context()
                );
            }
        }
        if s.limit > 1 {
            let got: Vec<(i64, i64)> = a["slots"]
                .as_array()
                .unwrap_or_else(|| panic!("slots missing: {a}"))
                .iter()
                .map(got_span)
                .collect();
            assert_eq!(got, want, "slots {a}; {}", context());
        } else {
            assert!(a.get("slots").is_none(), "{a}");
        }

        // free_busy over the same range, per user.
        let all: Vec<&str> = s.users.iter().map(|u| u.login.as_str()).collect();
        let (status, fb) = server.post(
            FREE_BUSY,
            json!({"user_logins": all, "time_from": s.from.to_rfc3339(), "time_to": until.to_rfc3339()}),
        );
        assert_eq!(status, StatusCode::OK, "{fb}");
        for (u, user) in s.users.iter().enumerate() {
            let (busy, working) = &per_user[u];
            let marks = |list: &Value| -> Vec<bool> {
                let mut got = Minutes::new(s.from, s.minutes);
                let mut previous_end: Option<DateTime<Utc>> = None;
                for span in list.as_array().expect("list") {
                    let start = out_time(&span["start"]);
                    let end = out_time(&span["end"]);
                    let offset = user
                        .tz
                        .offset_from_utc_datetime(&start.naive_utc())
                        .fix()
                        .local_minus_utc();
                    assert_eq!(
                        start.offset().local_minus_utc(),
                        offset,
                        "{} in its zone: {list}; {}",
                        user.login,
                        context()
                    );
                    let end_offset = user
                        .tz
                        .offset_from_utc_datetime(&end.naive_utc())
                        .fix()
                        .local_minus_utc();
                    assert_eq!(
                        end.offset().local_minus_utc(),
                        end_offset,
                        "{} in its zone: {list}; {}",
                        user.login,
                        context()
                    );
                    let (start, end) = (start.with_timezone(&Utc), end.with_timezone(&Utc));
                    assert!(start < end, "empty span in {list}");
                    assert!(
                        previous_end.is_none_or(|p| p < start),
                        "not merged and sorted: {list}; {}",
                        context()
                    );
                    assert!(start >= s.from && end <= until, "not clipped: {list}");
                    previous_end = Some(end);
                    got.mark(start, end);
                }
                got.marks
            };
            assert_eq!(
                marks(&fb[&user.login]["busy"]),
                busy.marks,
                "{} busy: {}; {}",
                user.login,
                fb[&user.login]["busy"],
                context()
            );
            let off: Vec<bool> = match working {
                Some(w) => w.marks.iter().map(|m| !m).collect(),
                None => vec![false; s.minutes],
            };
            assert_eq!(
                marks(&fb[&user.login]["off_hours"]),
                off,
                "{} off hours: {}; {}",
                user.login,
                fb[&user.login]["off_hours"],
                context()
            );
        }
    }
    assert!(
        found >= 10,
        "too few scenarios with a slot ({found}) to mean much"
    );
    eprintln!(
        "oracle scenarios took {:?}, {found} with a slot",
        started.elapsed()
    );
}
