//! The notificator end to end (SPEC §7): reminders created through the API are delivered by
//! the server's worker to real endpoints on loopback started here — an HTTP receiver for
//! webhooks and a Telegram-shaped API, an SMTP server — and recorded in the database.
//! Events start a few seconds ahead (offsets `0m`/`1m`), so each test takes seconds.
//!
//! The tests run one at a time: several check timing (never early, at most
//! `poll_interval` + 1 s late) and two start extra servers; on two cores, running them side
//! by side would measure the machine rather than the notificator.

mod common;
mod notify_support;

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use common::TestServer;
use notify_support::{
    rfc3339, system_time, wait_until, whole_second_from_now, Binary, HttpReceiver, SilentServer,
    SmtpReceiver,
};
use reqwest::StatusCode;
use serde_json::{json, Value};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

const POLL: Duration = Duration::from_millis(200);
/// The lateness the issue allows: `poll_interval` + 1 s.
const MAX_LATE: Duration = Duration::from_millis(1200);

fn contacts(login: &str) -> Value {
    json!({"contacts": {
        "email": format!("{login}@example.org"),
        "phone": format!("+49-{login}"),
        "telegram_chat_id": format!("tg-{login}"),
        "slack": format!("@{login}"),
    }})
}

/// One row per delivery: `login channel status attempts last_error`, sorted.
fn deliveries(server: &TestServer) -> Vec<String> {
    server
        .sql(
            "SELECT u.login || ' ' || d.channel || ' ' || d.status || ' ' || d.attempts || ' ' \
                    || coalesce(d.last_error, '-') \
             FROM notification_deliveries d JOIN users u ON u.id = d.user_id \
             ORDER BY u.login, d.channel",
        )
        .lines()
        .map(str::to_owned)
        .collect()
}

fn count(server: &TestServer, sql: &str) -> usize {
    server.sql(sql).trim().parse().expect("a count")
}

/// Waits (at most `limit`) until `n` delivery rows match the SQL `condition`.
fn deliveries_reach(server: &TestServer, condition: &str, n: usize, limit: Duration) -> bool {
    let sql = format!("SELECT count(*) FROM notification_deliveries WHERE {condition}");
    wait_until(limit, || count(server, &sql) == n)
}

fn metric(server: &TestServer, line_prefix: &str) -> u64 {
    let (status, body) = server.get("/metrics");
    assert_eq!(status, StatusCode::OK);
    let text = body.as_str().expect("metrics text").to_owned();
    text.lines()
        .find_map(|l| l.strip_prefix(line_prefix))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {line_prefix} in\n{text}"))
}

/// A config whose notificator sends Slack reminders to `url`, with `settings` (lines of
/// the `notificator` section, like `"max_attempts: 3"`).
fn slack_config(url: &str, settings: &[&str]) -> String {
    let mut yaml = String::from("modules:\n  notificator:\n");
    for setting in settings {
        yaml += &format!("    {setting}\n");
    }
    yaml + &format!("    channels:\n      slack: {{sender: webhook, url: \"{url}\"}}\n")
}

/// Ann's event at `start` (UTC, 15 minutes) with one Slack reminder at its start.
fn slack_reminder_at(start: DateTime<Utc>) -> Value {
    json!({
        "author_login": "ann",
        "start_time": rfc3339(start),
        "end_time": rfc3339(start + TimeDelta::minutes(15)),
        "timezone": "UTC",
        "notifications": [{"channel": "slack", "offset": "0m"}],
    })
}

/// The time between consecutive requests.
fn gaps(requests: &[SystemTime]) -> Vec<Duration> {
    requests
        .windows(2)
        .map(|w| w[1].duration_since(w[0]).unwrap())
        .collect()
}

fn assert_on_time(at: SystemTime, fire: SystemTime, what: &str) {
    assert!(at >= fire, "{what} arrived early: {at:?} < {fire:?}");
    let late = at.duration_since(fire).unwrap();
    assert!(
        late <= MAX_LATE,
        "{what} arrived {late:?} after its fire time"
    );
}

#[test]
fn reminders_reach_every_channel_with_exact_payloads_and_on_time() {
    let _serial = serial();
    let hooks = HttpReceiver::ok();
    let smtp = SmtpReceiver::start();
    let yaml = format!(
        "modules:\n  notificator:\n    poll_interval: 200ms\n    channels:\n      \
         slack: {{sender: webhook, url: \"{}\"}}\n      \
         sms: {{sender: webhook, url: \"{}\"}}\n      \
         telegram: {{sender: telegram, bot_token: \"123:secret\", api_base: \"{}\"}}\n      \
         email: {{sender: smtp, host: 127.0.0.1, port: {}, from: cal@example.org, tls: none}}\n",
        hooks.url("/slack"),
        hooks.url("/sms"),
        hooks.url("/tg"),
        smtp.port
    );
    let server = TestServer::with_yaml(&yaml);
    for login in ["alice", "bob", "carol", "erin"] {
        server.user(login, contacts(login));
    }
    server.user("dave", json!({}));

    // Starts in 61+ s; the 1m reminders fire 1+ s from now.
    let start = whole_second_from_now(62);
    let fire = system_time(start - TimeDelta::minutes(1));
    let event = server.event(json!({
        "author_login": "alice",
        "start_time": rfc3339(start),
        "end_time": rfc3339(start + TimeDelta::minutes(30)),
        "timezone": "Europe/Berlin",
        "name": "Sync",
        "notifications": [
            {"channel": "slack", "offset": "1m"},
            {"channel": "sms", "offset": "1m"},
            {"channel": "telegram", "offset": "1m"},
            {"channel": "email", "offset": "1m"},
        ],
        "participants": [
            {"user": {"login": "bob"}, "decision": "yes"},
            {"user": {"login": "carol"}, "decision": "no"},
            {"user": {"login": "dave"}},
            {"user": {"login": "erin"}, "decision": "maybe"},
        ],
    }));
    let id = event["id"].as_i64().unwrap();
    // Erin declines after the event was created: decisions count as of sending time.
    let (status, _) = server.post(
        &format!("/event/{id}/accept?user_login=erin&decision=no"),
        json!(null),
    );
    assert_eq!(status, StatusCode::OK);
    // The author is reminded of their own event whatever they answer (SPEC §7: "the author
    // and every participant whose decision is not `no`"), as they stay busy with it (§6).
    let (status, _) = server.post(
        &format!("/event/{id}/accept?user_login=alice&decision=no"),
        json!(null),
    );
    assert_eq!(status, StatusCode::OK);
    assert!(SystemTime::now() < fire, "set-up took too long");

    assert!(
        wait_until(Duration::from_secs(15), || hooks.count() >= 6
            && smtp.mails().len() >= 2),
        "messages: {:?} {:?}",
        hooks.requests(),
        smtp.mails()
    );
    std::thread::sleep(Duration::from_secs(1)); // anything extra would show up now

    let start_local = event["start_time"].as_str().unwrap().to_owned();
    assert!(start_local.ends_with("+01:00") || start_local.ends_with("+02:00"));
    let text = format!("Reminder: \"Sync\" starts at {start_local} (Europe/Berlin)");
    let webhook = |channel: &str, login: &str, contact: String| {
        json!({
            "text": text, "event_id": id, "event_name": "Sync",
            "occurrence_start": start_local, "channel": channel, "offset": "1m",
            "recipient": {"login": login, "contact": contact},
        })
    };
    let bodies = |path: &str| {
        let requests = hooks.to(path);
        for r in &requests {
            assert_on_time(r.at, fire, path);
        }
        let mut bodies: Vec<Value> = requests.into_iter().map(|r| r.body).collect();
        bodies.sort_by_key(|b| b.to_string());
        bodies
    };
    assert_eq!(
        bodies("/slack"),
        [
            webhook("slack", "alice", "@alice".into()),
            webhook("slack", "bob", "@bob".into())
        ]
    );
    assert_eq!(
        bodies("/sms"),
        [
            webhook("sms", "alice", "+49-alice".into()),
            webhook("sms", "bob", "+49-bob".into())
        ]
    );
    assert_eq!(
        bodies("/tg/bot123:secret/sendMessage"),
        [
            json!({"chat_id": "tg-alice", "text": text}),
            json!({"chat_id": "tg-bob", "text": text})
        ]
    );
    assert_eq!(hooks.count(), 6, "nothing else: {:?}", hooks.requests());
    // Each delivery carries its own key, for receivers to drop a copy sent twice.
    let keys = |channels: &str| -> HashSet<String> {
        server
            .sql(&format!(
                "SELECT delivery_key FROM notification_deliveries \
                 WHERE status = 'sent' AND channel IN ({channels})"
            ))
            .lines()
            .map(str::to_owned)
            .collect()
    };
    let sent_keys: HashSet<String> = hooks
        .requests()
        .into_iter()
        .filter_map(|r| r.idempotency_key)
        .collect();
    assert_eq!(sent_keys, keys("'slack', 'sms', 'telegram'"));

    let mut mails = smtp.mails();
    mails.sort_by_key(|m| m.to.clone());
    assert_eq!(mails.len(), 2);
    for (mail, login) in mails.iter().zip(["alice", "bob"]) {
        assert_on_time(mail.at, fire, "mail");
        assert_eq!(mail.from, "cal@example.org");
        assert_eq!(mail.to, [format!("{login}@example.org")]);
        assert_eq!(mail.header("Subject").as_deref(), Some("Reminder: Sync"));
        assert_eq!(mail.header("To"), Some(format!("{login}@example.org")));
        assert!(mail
            .header("Content-Type")
            .is_some_and(|t| t.starts_with("text/plain")));
        assert_eq!(mail.body(), text);
    }
    let message_ids: HashSet<String> = mails
        .iter()
        .filter_map(|m| m.header("Message-ID"))
        .collect();
    let expected_ids = keys("'email'")
        .into_iter()
        .map(|key| format!("<{key}@example.org>"))
        .collect();
    assert_eq!(message_ids, expected_ids);

    // Carol and Erin (declined) have no rows; Dave (no contacts) is skipped with the reason.
    let mut expected = Vec::new();
    for login in ["alice", "bob"] {
        for channel in ["email", "slack", "sms", "telegram"] {
            expected.push(format!("{login} {channel} sent 1 -"));
        }
    }
    for (channel, field) in [
        ("email", "email"),
        ("slack", "slack"),
        ("sms", "phone"),
        ("telegram", "telegram_chat_id"),
    ] {
        expected.push(format!(
            "dave {channel} skipped 0 recipient has no contacts.{field} for the {channel} channel"
        ));
    }
    assert_eq!(deliveries(&server), expected);
    assert_eq!(
        count(&server, "SELECT count(*) FROM notification_schedule"),
        0,
        "a one-off event's rules are done"
    );
    let sent = "calendula_notificator_deliveries_total{channel=\"slack\",status=\"sent\"}";
    let skipped = "calendula_notificator_deliveries_total{channel=\"email\",status=\"skipped\"}";
    assert_eq!(metric(&server, sent), 2);
    assert_eq!(metric(&server, skipped), 1);
}

#[test]
fn reminders_already_due_at_creation_are_never_sent() {
    let _serial = serial();
    let server = TestServer::with_yaml("modules:\n  notificator:\n    poll_interval: 200ms\n");
    server.user("ann", contacts("ann"));
    let start = whole_second_from_now(30);
    let rule = |offset: &str| json!({"channel": "slack", "offset": offset});
    // A one-off event: its 1h reminder is past, its 0m one is not.
    let one_off = server.event(json!({
        "author_login": "ann",
        "start_time": rfc3339(start),
        "end_time": rfc3339(start + TimeDelta::minutes(30)),
        "timezone": "UTC",
        "notifications": [rule("1h"), rule("0m")],
    }));
    // A daily event: today's 1h reminder is past, so tomorrow's occurrence is the first.
    let daily = server.event(json!({
        "author_login": "ann",
        "start_time": rfc3339(start),
        "end_time": rfc3339(start + TimeDelta::minutes(30)),
        "timezone": "UTC",
        "repetition": {"type": "daily"},
        "notifications": [rule("1h")],
    }));
    let schedule = server.sql(
        "SELECT r.event_id || ' ' || r.offset_text || ' ' || \
                to_char(s.occurrence_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') || ' ' || \
                to_char(s.fire_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') \
         FROM notification_schedule s JOIN notification_rules r ON r.id = s.rule_id \
         ORDER BY r.event_id, r.offset_text",
    );
    let tomorrow = start + TimeDelta::days(1);
    assert_eq!(
        schedule.lines().collect::<Vec<_>>(),
        [
            format!("{} 0m {} {}", one_off["id"], rfc3339(start), rfc3339(start)),
            format!(
                "{} 1h {} {}",
                daily["id"],
                rfc3339(tomorrow),
                rfc3339(tomorrow - TimeDelta::hours(1))
            ),
        ]
    );
    std::thread::sleep(POLL * 3);
    assert_eq!(
        count(&server, "SELECT count(*) FROM notification_deliveries"),
        0,
        "nothing is due yet"
    );
}

#[test]
fn two_instances_deliver_500_reminders_exactly_once() {
    let _serial = serial();
    let hooks = HttpReceiver::start(|_, _| (200, Duration::from_millis(2)));
    let yaml = format!(
        "modules:\n  notificator:\n    poll_interval: 200ms\n    batch_size: 25\n    max_in_flight: 50\n    \
         channels:\n      slack: {{sender: webhook, url: \"{}\"}}\n      \
         sms: {{sender: webhook, url: \"{}\"}}\n",
        hooks.url("/slack"),
        hooks.url("/sms")
    );
    let first = TestServer::with_yaml(&yaml);
    let second = TestServer::with_yaml_in(&first.dbname, &yaml);
    first.user("boss", contacts("boss"));

    // 250 events × (slack, sms) = 500 reminders, all due at the same instant.
    let start = whole_second_from_now(12);
    let created = Instant::now();
    for i in 0..250 {
        let server = if i % 2 == 0 { &first } else { &second };
        server.event(json!({
            "author_login": "boss",
            "start_time": rfc3339(start),
            "end_time": rfc3339(start + TimeDelta::minutes(15)),
            "timezone": "UTC",
            "name": format!("e{i}"),
            "notifications": [{"channel": "slack", "offset": "0m"}, {"channel": "sms", "offset": "0m"}],
        }));
    }
    assert!(
        SystemTime::now() < system_time(start),
        "creating 250 events took {:?}: longer than the lead time",
        created.elapsed()
    );

    assert!(
        wait_until(Duration::from_secs(40), || hooks.count() >= 500),
        "only {} of 500 delivered",
        hooks.count()
    );
    std::thread::sleep(Duration::from_secs(1));
    let requests = hooks.requests();
    let keys: HashSet<(String, i64)> = requests
        .iter()
        .map(|r| (r.path.clone(), r.body["event_id"].as_i64().unwrap()))
        .collect();
    assert_eq!(keys.len(), 500, "every reminder delivered");
    assert_eq!(requests.len(), 500, "none twice");
    for r in &requests {
        assert!(r.at >= system_time(start), "never early");
    }
    assert_eq!(
        count(
            &first,
            "SELECT count(*) FROM notification_deliveries WHERE status = 'sent' AND attempts = 1"
        ),
        500
    );
    let sent = |server: &TestServer| {
        ["slack", "sms"]
            .iter()
            .map(|c| {
                metric(
                    server,
                    &format!(
                        "calendula_notificator_deliveries_total{{channel=\"{c}\",status=\"sent\"}}"
                    ),
                )
            })
            .sum::<u64>()
    };
    let (a, b) = (sent(&first), sent(&second));
    println!("first instance sent {a}, second {b}");
    assert_eq!(a + b, 500);
}

#[test]
fn a_killed_server_resumes_after_restart_without_sending_twice() {
    let _serial = serial();
    // Each message takes 30 ms at the receiver, so the kill lands in the middle of sending.
    let hooks = HttpReceiver::start(|_, _| (200, Duration::from_millis(30)));
    let dbname = common::fresh_database();
    let max_in_flight = 8;
    let yaml = format!(
        "{}logging:\n  stdout: false\n{}",
        common::database_yaml_for(&dbname),
        slack_config(
            &hooks.url("/slack"),
            &[
                "poll_interval: 200ms",
                "batch_size: 20",
                &format!("max_in_flight: {max_in_flight}"),
                "send_timeout: 1s",
            ]
        )
    );
    let dir = tempfile::tempdir().unwrap();
    let server = Binary::start(dir.path(), &yaml);
    let client = reqwest::blocking::Client::new();
    let post = |base: &str, path: &str, body: Value| {
        let response = client
            .post(format!("{base}{path}"))
            .json(&body)
            .send()
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "{path}");
    };
    let logins: Vec<String> = (0..5).map(|i| format!("member{i}")).collect();
    for login in &logins {
        let mut body = contacts(login);
        body["login"] = json!(login);
        body["name"] = json!({"first": login, "last": "M"});
        post(&server.base, "/users", body);
    }
    // 60 events × 5 recipients = 300 messages, due together.
    let participants: Vec<Value> = logins[1..]
        .iter()
        .map(|l| json!({"user": {"login": l}}))
        .collect();
    let start = whole_second_from_now(10);
    let created = Instant::now();
    for i in 0..60 {
        post(
            &server.base,
            "/event",
            json!({
                "author_login": "member0",
                "start_time": rfc3339(start),
                "end_time": rfc3339(start + TimeDelta::minutes(15)),
                "timezone": "UTC",
                "name": format!("e{i}"),
                "notifications": [{"channel": "slack", "offset": "0m"}],
                "participants": participants,
            }),
        );
    }
    assert!(
        SystemTime::now() < system_time(start),
        "creating 60 events took {:?}: longer than the lead time",
        created.elapsed()
    );

    assert!(
        wait_until(Duration::from_secs(30), || hooks.count() >= 60),
        "sending did not start"
    );
    server.kill_hard();
    let at_kill = hooks.count();
    let sql = |q: &str| common::psql(&dbname, q);
    let unfinished: usize = sql(
        "SELECT (SELECT count(*) FROM notification_deliveries WHERE status = 'pending') \
              + (SELECT count(*) FROM notification_schedule) * 5",
    )
    .trim()
    .parse()
    .unwrap();
    println!("killed after {at_kill} messages; {unfinished} unfinished");
    assert!(
        at_kill < 300 && unfinished > 0,
        "the kill came too late to test anything"
    );

    std::thread::sleep(Duration::from_millis(500));
    let restarted = Binary::start(dir.path(), &yaml);
    let all_sent = || {
        sql("SELECT count(*) FROM notification_deliveries WHERE status = 'sent'").trim() == "300"
    };
    // Messages in flight at the kill come back when their lease (1 s + 5 s) ends.
    assert!(
        wait_until(Duration::from_secs(40), all_sent),
        "not everything was delivered after the restart: {}",
        sql("SELECT status || ' ' || count(*) FROM notification_deliveries GROUP BY status")
    );
    std::thread::sleep(Duration::from_millis(500));
    let requests = hooks.requests();
    let keys: HashSet<(i64, String)> = requests
        .iter()
        .map(|r| {
            (
                r.body["event_id"].as_i64().unwrap(),
                r.body["recipient"]["login"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(keys.len(), 300, "everything due was delivered");
    let repeated = requests.len() - keys.len();
    println!("{repeated} messages were sent again after the restart");
    assert!(
        repeated <= max_in_flight,
        "{repeated} repeats: more than the {max_in_flight} that can be in flight"
    );
    assert_eq!(
        sql("SELECT count(*) FROM notification_schedule").trim(),
        "0"
    );
    assert!(restarted.terminate().success());
}

#[test]
fn failing_endpoints_are_retried_with_backoff_without_blocking_others() {
    let _serial = serial();
    let hooks = HttpReceiver::start(|path, nth| match path {
        "/flaky" if nth < 2 => (500, Duration::ZERO),
        "/down" => (500, Duration::ZERO),
        _ => (200, Duration::ZERO),
    });
    let hung_smtp = SilentServer::start();
    let yaml = format!(
        "modules:\n  notificator:\n    poll_interval: 200ms\n    max_attempts: 4\n    \
         retry_backoff: 300ms\n    send_timeout: 1s\n    channels:\n      \
         slack: {{sender: webhook, url: \"{}\"}}\n      \
         sms: {{sender: webhook, url: \"{}\"}}\n      \
         telegram: {{sender: telegram, bot_token: \"1:t\", api_base: \"{}\"}}\n      \
         email: {{sender: smtp, host: 127.0.0.1, port: {}, from: cal@example.org, tls: none}}\n",
        hooks.url("/flaky"),
        hooks.url("/down"),
        hooks.url("/tg"),
        hung_smtp.port
    );
    let server = TestServer::with_yaml(&yaml);
    server.user("ann", contacts("ann"));
    let start = whole_second_from_now(2);
    let rules: Vec<Value> = ["email", "slack", "sms", "telegram"]
        .iter()
        .map(|c| json!({"channel": c, "offset": "0m"}))
        .collect();
    server.event(json!({
        "author_login": "ann",
        "start_time": rfc3339(start),
        "end_time": rfc3339(start + TimeDelta::minutes(15)),
        "timezone": "UTC",
        "notifications": rules,
    }));
    let fire = system_time(start);

    assert!(
        deliveries_reach(&server, "status <> 'pending'", 4, Duration::from_secs(30)),
        "not finished: {:?}",
        deliveries(&server)
    );
    // The healthy channel was not held up by the hung mail server or the retries.
    let telegram = hooks.to("/tg/bot1:t/sendMessage");
    assert_eq!(telegram.len(), 1);
    assert_on_time(telegram[0].at, fire, "telegram");

    // 500, 500, then OK: sent on the third attempt, waiting 300 ms then 600 ms.
    let flaky: Vec<SystemTime> = hooks.to("/flaky").iter().map(|r| r.at).collect();
    assert_eq!(flaky.len(), 3);
    let keys: HashSet<Option<String>> = hooks
        .to("/flaky")
        .into_iter()
        .map(|r| r.idempotency_key)
        .collect();
    assert_eq!(keys.len(), 1, "every attempt has the same key: {keys:?}");
    assert!(keys.iter().all(Option::is_some));
    assert_on_time(flaky[0], fire, "first attempt");
    let gaps = gaps(&flaky);
    assert!(gaps[0] >= Duration::from_millis(300), "{gaps:?}");
    assert!(gaps[1] >= Duration::from_millis(600), "{gaps:?}");
    assert!(gaps[1] < Duration::from_millis(600) + MAX_LATE, "{gaps:?}");

    assert_eq!(hooks.to("/down").len(), 4, "max_attempts, then no more");
    let rows = deliveries(&server);
    let row = |channel: &str| {
        rows.iter()
            .find(|r| r.starts_with(&format!("ann {channel} ")))
            .cloned()
            .unwrap()
    };
    assert!(
        row("slack").starts_with("ann slack sent 3 HTTP 500"),
        "{rows:?}"
    );
    assert!(
        row("sms").starts_with("ann sms failed 4 HTTP 500"),
        "{rows:?}"
    );
    assert_eq!(row("telegram"), "ann telegram sent 1 -");
    assert!(row("email").starts_with("ann email failed 4 "), "{rows:?}");
    assert!(row("email").contains("timed out"), "{rows:?}");
    assert_eq!(*hung_smtp.connections.lock().unwrap(), 4);
    let failed = "calendula_notificator_deliveries_total{channel=\"sms\",status=\"failed\"}";
    assert_eq!(metric(&server, failed), 1);
}

/// A participant who answers `no` while their reminder waits for a retry is not sent it
/// (SPEC §7: decisions as they stand at sending time); the author's retry goes out, also
/// when the author has answered `no` to their own event.
#[test]
fn a_retry_is_skipped_for_a_participant_who_has_declined_since() {
    let _serial = serial();
    let hooks = HttpReceiver::start(|_, nth| {
        if nth < 2 {
            (500, Duration::ZERO)
        } else {
            (200, Duration::ZERO)
        }
    });
    let yaml = slack_config(
        &hooks.url("/slack"),
        &[
            "poll_interval: 200ms",
            "max_attempts: 3",
            "retry_backoff: 2s",
        ],
    );
    let server = TestServer::with_yaml(&yaml);
    server.user("ann", contacts("ann"));
    server.user("bob", contacts("bob"));
    let mut event = slack_reminder_at(whole_second_from_now(2));
    event["participants"] = json!([{"user": {"login": "bob"}, "decision": "yes"}]);
    let id = server.event(event)["id"].as_i64().unwrap();
    assert!(
        wait_until(Duration::from_secs(15), || hooks.count() == 2),
        "two failed first attempts expected, saw {}",
        hooks.count()
    );
    for login in ["bob", "ann"] {
        let (status, _) = server.post(
            &format!("/event/{id}/accept?user_login={login}&decision=no"),
            json!(null),
        );
        assert_eq!(status, StatusCode::OK);
    }

    assert!(
        deliveries_reach(&server, "status <> 'pending'", 2, Duration::from_secs(15)),
        "{:?}",
        deliveries(&server)
    );
    assert_eq!(
        deliveries(&server),
        [
            r#"ann slack sent 2 HTTP 500 Internal Server Error: {"ok":false}"#,
            r#"bob slack skipped 1 recipient answered no before sending; last error: HTTP 500 Internal Server Error: {"ok":false}"#,
        ]
    );
    assert_eq!(hooks.count(), 3);
    let skipped = "calendula_notificator_deliveries_total{channel=\"slack\",status=\"skipped\"}";
    assert_eq!(metric(&server, skipped), 1);
}

#[test]
fn a_deleted_event_sends_no_reminder_and_no_retry() {
    let _serial = serial();
    let hooks = HttpReceiver::start(|_, nth| {
        if nth == 0 {
            (500, Duration::ZERO)
        } else {
            (200, Duration::ZERO)
        }
    });
    let yaml = slack_config(
        &hooks.url("/slack"),
        &["poll_interval: 200ms", "retry_backoff: 1s"],
    );
    let server = TestServer::with_yaml(&yaml);
    server.user("ann", contacts("ann"));
    let event_id = |event: Value| event["id"].as_i64().unwrap();
    let failing = event_id(server.event(slack_reminder_at(whole_second_from_now(2))));
    let not_due_yet = event_id(server.event(slack_reminder_at(whole_second_from_now(3))));
    let kept_start = whole_second_from_now(4);
    let kept = event_id(server.event(slack_reminder_at(kept_start)));
    let delete = |id: i64| server.delete(&format!("/event/{id}")).0;
    assert_eq!(delete(not_due_yet), StatusCode::NO_CONTENT);
    assert!(
        wait_until(Duration::from_secs(10), || hooks.count() == 1),
        "the first attempt, failing, expected"
    );
    assert_eq!(delete(failing), StatusCode::NO_CONTENT);

    // The kept event's reminder goes out; the deleted ones' (a retry 1 s after the failure,
    // a first attempt at +3 s) never do.
    assert!(
        deliveries_reach(&server, "status = 'sent'", 1, Duration::from_secs(15)),
        "{:?}",
        deliveries(&server)
    );
    std::thread::sleep(Duration::from_secs(2));
    let sent: Vec<Value> = hooks.requests().into_iter().map(|r| r.body).collect();
    let ids: Vec<i64> = sent
        .iter()
        .map(|b| b["event_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [failing, kept]);
    assert_eq!(sent[1]["occurrence_start"], rfc3339(kept_start));
    assert_eq!(deliveries(&server), ["ann slack sent 1 -"]);
}

#[test]
fn deleting_events_while_their_reminders_fall_due_neither_fails_nor_deadlocks() {
    let _serial = serial();
    let hooks = HttpReceiver::start(|_, _| (200, Duration::ZERO));
    let yaml = slack_config(
        &hooks.url("/slack"),
        &["poll_interval: 100ms", "batch_size: 5"],
    );
    let server = TestServer::with_yaml(&yaml);
    server.user("ann", contacts("ann"));
    let start = whole_second_from_now(5);
    let mut reminder = slack_reminder_at(start);
    // A second rule (email goes to the log sender): the notificator records rules in batches.
    let rules = reminder["notifications"].as_array_mut().unwrap();
    rules.push(json!({"channel": "email", "offset": "0m"}));
    let ids: Vec<i64> = (0..120)
        .map(|_| server.event(reminder.clone())["id"].as_i64().unwrap())
        .collect();
    let lead = system_time(start).duration_since(SystemTime::now());
    let lead = lead.expect("creating the events took longer than the lead time");
    std::thread::sleep(lead.saturating_sub(Duration::from_millis(30)));

    // Four clients delete every event as its reminders fall due and are being recorded.
    let statuses: Vec<StatusCode> = std::thread::scope(|scope| {
        let deleters: Vec<_> = ids
            .chunks(ids.len() / 4)
            .map(|chunk| {
                let server = &server;
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|id| server.delete(&format!("/event/{id}")).0)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        deleters
            .into_iter()
            .flat_map(|d| d.join().unwrap())
            .collect()
    });
    assert!(
        statuses.iter().all(|s| *s == StatusCode::NO_CONTENT),
        "{statuses:?}"
    );
    assert_eq!(count(&server, "SELECT count(*) FROM events"), 0);
    // Whatever was sent before its event went, every record went with the event.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(deliveries(&server), Vec::<String>::new());
    assert!(
        hooks.count() < ids.len(),
        "{} reminders sent",
        hooks.count()
    );
}

#[test]
fn a_retry_due_before_the_next_poll_does_not_wait_for_it() {
    let _serial = serial();
    let hooks = HttpReceiver::start(|_, _| (500, Duration::ZERO));
    // The worker sleeps up to 3 s when nothing is due; the retries fall due 200 ms and
    // 400 ms after each failure, while it sleeps.
    let yaml = slack_config(
        &hooks.url("/down"),
        &[
            "poll_interval: 3s",
            "max_attempts: 3",
            "retry_backoff: 200ms",
        ],
    );
    let server = TestServer::with_yaml(&yaml);
    server.user("ann", contacts("ann"));
    let start = whole_second_from_now(2);
    server.event(slack_reminder_at(start));
    assert!(
        wait_until(Duration::from_secs(20), || hooks.count() == 3),
        "three attempts expected, saw {}",
        hooks.count()
    );
    let at: Vec<SystemTime> = hooks.to("/down").iter().map(|r| r.at).collect();
    let gaps = gaps(&at);
    assert!(gaps[0] >= Duration::from_millis(200), "{gaps:?}");
    assert!(gaps[1] >= Duration::from_millis(400), "{gaps:?}");
    // Waiting for the poll would make each gap about 3 s.
    assert!(gaps[0] < Duration::from_millis(1500), "{gaps:?}");
    assert!(gaps[1] < Duration::from_millis(1700), "{gaps:?}");
}

/// Retries that would go out past `max_lateness` are `missed`, and the row keeps the error
/// that made them retry.
#[test]
fn a_retry_later_than_max_lateness_is_missed_keeping_the_last_error() {
    let _serial = serial();
    let hooks = HttpReceiver::start(|_, _| (500, Duration::ZERO));
    let yaml = slack_config(
        &hooks.url("/down"),
        &[
            "poll_interval: 200ms",
            "max_lateness: 1s",
            "max_attempts: 5",
            "retry_backoff: 1500ms",
        ],
    );
    let server = TestServer::with_yaml(&yaml);
    server.user("ann", contacts("ann"));
    server.event(slack_reminder_at(whole_second_from_now(2)));
    assert!(
        deliveries_reach(&server, "status = 'missed'", 1, Duration::from_secs(20)),
        "{:?}",
        deliveries(&server)
    );
    assert_eq!(
        hooks.count(),
        1,
        "the retry due after max_lateness was not sent"
    );
    let rows = deliveries(&server);
    assert!(
        rows[0].starts_with("ann slack missed 1 overdue by 1.")
            && rows[0].contains("more than max_lateness (1s); last error: HTTP 500"),
        "{rows:?}"
    );
}

#[test]
fn a_recurring_reminder_is_rescheduled_at_the_same_wall_time_across_dst() {
    let _serial = serial();
    let server = TestServer::with_yaml("modules:\n  notificator:\n    poll_interval: 200ms\n");
    server.user("ann", json!({}));
    let start = whole_second_from_now(2);
    // The first whole number of weeks after which Berlin's UTC offset differs from today's,
    // and where that occurrence's wall time exists.
    let local = start.with_timezone(&Berlin).naive_local();
    let offset_now = start.with_timezone(&Berlin).format("%z").to_string();
    let (weeks, next) = (1..=53)
        .find_map(|w| {
            let wall = local + TimeDelta::weeks(w);
            let instant = Berlin.from_local_datetime(&wall).earliest()?;
            (instant.format("%z").to_string() != offset_now)
                .then(|| (w, instant.with_timezone(&Utc)))
        })
        .expect("Berlin changes its offset within a year");
    assert_ne!(
        next,
        start + TimeDelta::weeks(weeks),
        "the wall time, not a multiple of 24 h"
    );

    // Channel slack has no sender configured: it is logged (the `log` sender).
    let event = server.event(json!({
        "author_login": "ann",
        "start_time": rfc3339(start),
        "end_time": rfc3339(start + TimeDelta::minutes(30)),
        "timezone": "Europe/Berlin",
        "repetition": {"type": "weekly", "each": weeks},
        "notifications": [{"channel": "slack", "offset": "0m"}, {"channel": "email", "offset": "1d"}],
    }));
    let id = event["id"].as_i64().unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || deliveries(&server).len() == 1),
        "the first occurrence was not notified"
    );
    assert_eq!(deliveries(&server), ["ann slack sent 1 -"]);
    let epoch = |sql: &str| -> i64 { server.sql(sql).trim().parse().unwrap() };
    let schedule = |offset: &str, column: &str| {
        let at = epoch(&format!(
            "SELECT extract(epoch FROM s.{column})::bigint FROM notification_schedule s \
             JOIN notification_rules r ON r.id = s.rule_id WHERE r.event_id = {id} AND r.offset_text = '{offset}'"
        ));
        DateTime::from_timestamp(at, 0).unwrap()
    };
    assert_eq!(schedule("0m", "occurrence_start"), next);
    assert_eq!(schedule("0m", "fire_at"), next);
    // The 1d reminder of the first occurrence was already past at creation: it starts with
    // the second occurrence too.
    assert_eq!(schedule("1d", "occurrence_start"), next);
    assert_eq!(schedule("1d", "fire_at"), next - TimeDelta::days(1));
}

#[test]
fn reminders_overdue_beyond_max_lateness_after_downtime_are_missed() {
    let _serial = serial();
    let hooks = HttpReceiver::ok();
    let yaml = slack_config(
        &hooks.url("/slack"),
        &["poll_interval: 200ms", "max_lateness: 1s"],
    );
    let first = TestServer::with_yaml(&yaml);
    let dbname = first.dbname.clone();
    first.user("ann", contacts("ann"));
    let start = whole_second_from_now(3);
    first.event(slack_reminder_at(start));
    drop(first); // the server goes down before the reminder is due
    assert!(SystemTime::now() < system_time(start), "stopped too late");
    let back = system_time(start) + Duration::from_millis(2500);
    std::thread::sleep(back.duration_since(SystemTime::now()).unwrap_or_default());

    let second = TestServer::with_yaml_in(&dbname, &yaml);
    assert!(
        wait_until(Duration::from_secs(10), || !deliveries(&second).is_empty()),
        "the overdue reminder was not handled"
    );
    let rows = deliveries(&second);
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0].starts_with("ann slack missed 0 overdue by ")
            && rows[0].ends_with("more than max_lateness (1s)"),
        "{rows:?}"
    );
    std::thread::sleep(POLL * 3);
    assert_eq!(hooks.count(), 0, "a missed reminder is not sent");
    let missed = "calendula_notificator_deliveries_total{channel=\"slack\",status=\"missed\"}";
    assert_eq!(metric(&second, missed), 1);
}
