//! Notificator benchmark (issue 6; figures in BENCHMARKS.md). Ignored by `cargo test`; run
//! in release:
//!
//!     cargo test --release --test notificator_bench -- --ignored --nocapture --test-threads 1
//!
//! The real `calendula` binary runs against the tests' PostgreSQL with the `log` sender
//! writing to a log file (default `poll_interval` 1s and `batch_size` 500). The reminders are
//! written straight into the tables by SQL — the same rows `POST /event` writes — so that
//! set-up time does not count.
//!
//! - burst: 10 000 reminders (10 000 events, one rule, one recipient each) due at the same
//!   instant. Goal: all handled within 2 s of that instant.
//! - steady: 1 000 reminders per minute (one every 60 ms) for a minute. Goal: delivery lag
//!   (hand-over time − fire time) p99 < 1 s.

mod common;
mod notify_support;

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use notify_support::{wait_until, Binary};

const BURST: usize = 10_000;
const BURST_RUNS: usize = 5;
const STEADY_RUNS: usize = 3;

/// Runs per benchmark: the constants above, or `NOTIFICATOR_BENCH_RUNS` (a quick check).
fn runs(default: usize) -> usize {
    std::env::var("NOTIFICATOR_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
const STEADY_SECONDS: i64 = 60;
const STEADY_EVERY_MS: i64 = 60;

struct Setup {
    dbname: String,
    dir: tempfile::TempDir,
    server: Binary,
}

impl Setup {
    fn start() -> Setup {
        let dbname = common::fresh_database();
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("calendula.log");
        // NOTIFICATOR_BENCH_LOG=1: the worker's per-round timings (debug) are printed too.
        let level = if std::env::var_os("NOTIFICATOR_BENCH_LOG").is_some() {
            "debug"
        } else {
            "info"
        };
        let yaml = format!(
            "{}logging:\n  stdout: false\n  file: \"{}\"\n  max_bytes: 1000000000\n  \
             targets: {{calendula::notificator: {level}}}\n\
             modules:\n  notificator:\n    poll_interval: 1s\n",
            common::database_yaml_for(&dbname),
            log.display()
        );
        let server = Binary::start(dir.path(), &yaml);
        Setup {
            dbname,
            dir,
            server,
        }
    }

    fn sql(&self, sql: &str) -> String {
        common::psql(&self.dbname, sql)
    }

    /// `count` events of one author, each with one `0m` slack reminder (logged), the i-th
    /// starting (and due) at `first + i * every_ms`.
    fn reminders(&self, count: usize, first: chrono::DateTime<Utc>, every_ms: i64) {
        let first = first.to_rfc3339();
        self.sql(&format!(
            "INSERT INTO users (login, first_name, last_name) VALUES ('bench', 'B', 'M');
             INSERT INTO events (author_id, start_time, end_time, timezone, name, active_until)
               SELECT u.id, t, t + interval '30 minutes', 'UTC', 'bench ' || g, t + interval '30 minutes'
               FROM users u, generate_series(0, {count} - 1) g,
                    LATERAL (SELECT '{first}'::timestamptz + g * {every_ms} * interval '1 millisecond' AS t) s;
             INSERT INTO notification_rules (event_id, channel, offset_text, offset_minutes)
               SELECT id, 'slack', '0m', 0 FROM events;
             INSERT INTO notification_schedule (rule_id, occurrence_start, fire_at)
               SELECT r.id, e.start_time, e.start_time
               FROM notification_rules r JOIN events e ON e.id = r.event_id;"
        ));
    }

    fn sent(&self) -> usize {
        self.sql("SELECT count(*) FROM notification_deliveries WHERE status = 'sent'")
            .trim()
            .parse()
            .unwrap()
    }

    /// Seconds: p50, p99 and max of (hand-over − fire time), the last hand-over and the last
    /// recorded outcome after `t0`.
    fn figures(&self, t0: chrono::DateTime<Utc>) -> [f64; 5] {
        let row = self.sql(&format!(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY lag), \
                    percentile_cont(0.99) WITHIN GROUP (ORDER BY lag), max(lag), \
                    extract(epoch FROM max(sent_at) - '{t0}'::timestamptz), \
                    extract(epoch FROM max(updated_at) - '{t0}'::timestamptz) \
             FROM (SELECT extract(epoch FROM sent_at - fire_at)::float8 AS lag, sent_at, updated_at \
                   FROM notification_deliveries WHERE status = 'sent') d",
            t0 = t0.to_rfc3339()
        ));
        let values: Vec<f64> = row.trim().split('|').map(|v| v.parse().unwrap()).collect();
        [values[0], values[1], values[2], values[3], values[4]]
    }

    fn logged(&self) -> usize {
        let text = std::fs::read_to_string(self.dir.path().join("calendula.log")).unwrap();
        if std::env::var_os("NOTIFICATOR_BENCH_LOG").is_some() {
            for line in text
                .lines()
                .filter(|l| l.contains("round:") || l.contains("recorded "))
            {
                println!("{line}");
            }
        }
        text.lines()
            .filter(|l| l.contains("notification: to bench via slack about event"))
            .count()
    }
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

/// `median 0.958s (spread 0.821–1.021)` over runs.
fn summary(values: &[f64]) -> String {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("median {:.3}s (spread {min:.3}–{max:.3})", median(values))
}

#[test]
#[ignore = "benchmark: run in release with --ignored"]
fn burst_of_10000_reminders_due_at_once() {
    let mut handled = Vec::new();
    let mut p99s = Vec::new();
    for run in 1..=runs(BURST_RUNS) {
        let setup = Setup::start();
        let due = Utc::now() + TimeDelta::seconds(4);
        setup.reminders(BURST, due, 0);
        assert!(Utc::now() < due - TimeDelta::seconds(1), "set-up too slow");
        assert!(
            wait_until(Duration::from_secs(60), || setup.sent() == BURST),
            "not all {BURST} sent: {}",
            setup.sent()
        );
        let [p50, p99, max, last_sent, last_recorded] = setup.figures(due);
        assert_eq!(setup.logged(), BURST, "one log line per reminder");
        println!(
            "burst run {run}: {BURST} due at once; last hand-over {last_sent:.3}s, last recorded \
             {last_recorded:.3}s after the due instant; lag p50 {p50:.3}s p99 {p99:.3}s max {max:.3}s"
        );
        handled.push(last_recorded);
        p99s.push(p99);
        assert!(setup.server.terminate().success());
    }
    println!(
        "burst: all {BURST} handled within {} of the due instant; lag p99 {}",
        summary(&handled),
        summary(&p99s)
    );
    assert!(median(&handled) < 2.0, "goal: all handled within 2 s");
}

#[test]
#[ignore = "benchmark: run in release with --ignored"]
fn steady_1000_reminders_per_minute() {
    let count = (STEADY_SECONDS * 1000 / STEADY_EVERY_MS) as usize;
    let mut p99s = Vec::new();
    let mut maxes = Vec::new();
    for run in 1..=runs(STEADY_RUNS) {
        let setup = Setup::start();
        let first = Utc::now() + TimeDelta::seconds(3);
        setup.reminders(count, first, STEADY_EVERY_MS);
        let last = first + TimeDelta::milliseconds(STEADY_EVERY_MS * (count as i64 - 1));
        let until_last = (last - Utc::now()).to_std().unwrap_or_default();
        assert!(
            wait_until(until_last + Duration::from_secs(30), || setup.sent()
                == count),
            "not all {count} sent: {}",
            setup.sent()
        );
        let [p50, p99, max, _, _] = setup.figures(first);
        assert_eq!(setup.logged(), count);
        println!(
            "steady run {run}: {count} reminders, one every {STEADY_EVERY_MS} ms \
             (1000/min) for {STEADY_SECONDS}s; lag p50 {p50:.3}s p99 {p99:.3}s max {max:.3}s"
        );
        p99s.push(p99);
        maxes.push(max);
        assert!(setup.server.terminate().success());
    }
    println!(
        "steady: lag p99 {}, max {}",
        summary(&p99s),
        summary(&maxes)
    );
    assert!(median(&p99s) < 1.0, "goal: p99 < 1 s");
}
