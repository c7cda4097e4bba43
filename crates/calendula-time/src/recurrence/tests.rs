//! Table tests of SPEC §5, one group per repeat type, then DST, bounds and cost.

use super::*;
use chrono::{Datelike, TimeZone};
use chrono_tz::America::Santiago;
use chrono_tz::Australia::Sydney;
use chrono_tz::Europe::Berlin;
use chrono_tz::UTC;
use RepeatType::*;

fn local(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(&format!("{s} 00:00"), "%Y-%m-%d %H:%M"))
        .unwrap()
}

fn rule(kind: RepeatType, each: u32) -> Rule {
    Rule {
        kind,
        each,
        weekly_days: vec![],
        monthly_last_week: false,
        due: None,
    }
}

fn on_days(kind: RepeatType, each: u32, days: &[Weekday]) -> Rule {
    Rule {
        weekly_days: days.to_vec(),
        ..rule(kind, each)
    }
}

fn until(tz: Tz, due: &str, r: Rule) -> Rule {
    Rule {
        due: Some(to_instant(tz, local(due))),
        ..r
    }
}

fn series(tz: Tz, start: &str, minutes: i64, rule: Option<Rule>) -> Series {
    let start = to_instant(tz, local(start));
    Series::new(start, start + TimeDelta::minutes(minutes), tz, rule)
}

/// Occurrence starts in the window `[from, to)` (wall times of the series' zone), as
/// wall times, so expected values read like a calendar.
fn starts(s: &Series, from: &str, to: &str) -> Vec<String> {
    let window = s.overlapping(to_instant(s.tz, local(from)), to_instant(s.tz, local(to)));
    window
        .map(|o| to_local(s.tz, o.start).format("%Y-%m-%d %H:%M").to_string())
        .collect()
}

/// The same occurrences as UTC instants, to see offsets change.
fn utc_starts(s: &Series, from: &str, to: &str) -> Vec<String> {
    let window = s.overlapping(to_instant(s.tz, local(from)), to_instant(s.tz, local(to)));
    window
        .map(|o| o.start.format("%Y-%m-%d %H:%MZ").to_string())
        .collect()
}

/// Expected starts at 09:00 on the given dates.
fn at_nine(dates: &[&str]) -> Vec<String> {
    dates.iter().map(|d| format!("{d} 09:00")).collect()
}

fn check(s: Series, from: &str, to: &str, expected_dates: &[&str]) {
    assert_eq!(starts(&s, from, to), at_nine(expected_dates), "{s:?}");
}

#[test]
fn one_off_is_its_single_occurrence() {
    let s = series(Berlin, "2026-01-07 09:00", 60, None);
    assert_eq!(
        starts(&s, "2026-01-01", "2027-01-01"),
        at_nine(&["2026-01-07"])
    );
    assert!(starts(&s, "2026-01-07 10:00", "2027-01-01").is_empty());
    assert_eq!(s.last_end(), Some(s.end));
}

#[test]
fn daily() {
    let s = |each| series(UTC, "2026-01-30 09:00", 30, Some(rule(Daily, each)));
    check(
        s(1),
        "2026-01-01",
        "2026-02-03",
        &["2026-01-30", "2026-01-31", "2026-02-01", "2026-02-02"],
    );
    check(
        s(3),
        "2026-01-01",
        "2026-02-10",
        &["2026-01-30", "2026-02-02", "2026-02-05", "2026-02-08"],
    );
}

#[test]
fn weekly_without_days() {
    let s = |each| series(UTC, "2026-01-07 09:00", 30, Some(rule(Weekly, each)));
    check(
        s(1),
        "2026-01-01",
        "2026-01-22",
        &["2026-01-07", "2026-01-14", "2026-01-21"],
    );
    check(
        s(2),
        "2026-01-01",
        "2026-02-05",
        &["2026-01-07", "2026-01-21", "2026-02-04"],
    );
}

#[test]
fn weekly_days_from_mid_week() {
    use Weekday::*;
    // S is Wednesday 7 Jan 2026; Monday 5 Jan is in S's week but before S.
    let s = |each, days: &[Weekday]| {
        series(
            UTC,
            "2026-01-07 09:00",
            30,
            Some(on_days(Weekly, each, days)),
        )
    };
    let mwf = [Fri, Mon, Wed];
    check(
        s(1, &mwf),
        "2026-01-01",
        "2026-01-17",
        &[
            "2026-01-07",
            "2026-01-09",
            "2026-01-12",
            "2026-01-14",
            "2026-01-16",
        ],
    );
    check(
        s(2, &mwf),
        "2026-01-01",
        "2026-01-24",
        &[
            "2026-01-07",
            "2026-01-09",
            "2026-01-19",
            "2026-01-21",
            "2026-01-23",
        ],
    );
    // S's own weekday not listed: S still happens, then the listed days.
    check(
        s(1, &[Mon, Thu]),
        "2026-01-01",
        "2026-01-16",
        &["2026-01-07", "2026-01-08", "2026-01-12", "2026-01-15"],
    );
    // Sunday closes S's (Monday-based) week, so Sunday 11 Jan is in week 0.
    check(
        s(2, &[Sun]),
        "2026-01-01",
        "2026-02-09",
        &["2026-01-07", "2026-01-11", "2026-01-25", "2026-02-08"],
    );
}

#[test]
fn workday_ignores_weekly_days() {
    let s = |start, each| {
        series(
            UTC,
            start,
            30,
            Some(on_days(Workday, each, &[Weekday::Sun])),
        )
    };
    let (wed, sat) = ("2026-01-07 09:00", "2026-01-10 09:00");
    check(
        s(wed, 1),
        "2026-01-01",
        "2026-01-14",
        &[
            "2026-01-07",
            "2026-01-08",
            "2026-01-09",
            "2026-01-12",
            "2026-01-13",
        ],
    );
    check(
        s(wed, 2),
        "2026-01-01",
        "2026-01-21",
        &[
            "2026-01-07",
            "2026-01-08",
            "2026-01-09",
            "2026-01-19",
            "2026-01-20",
        ],
    );
    check(
        s(sat, 1),
        "2026-01-01",
        "2026-01-14",
        &["2026-01-10", "2026-01-12", "2026-01-13"],
    );
}

#[test]
fn monthly_number_clamps_to_month_end_without_drift() {
    let s = |start, each| series(UTC, start, 30, Some(rule(MonthlyNumber, each)));
    check(
        s("2024-01-31 09:00", 1),
        "2024-01-01",
        "2024-06-01",
        &[
            "2024-01-31",
            "2024-02-29",
            "2024-03-31",
            "2024-04-30",
            "2024-05-31",
        ],
    );
    check(
        s("2023-01-31 09:00", 1),
        "2023-01-01",
        "2023-04-01",
        &["2023-01-31", "2023-02-28", "2023-03-31"],
    );
    check(
        s("2024-01-31 09:00", 2),
        "2024-01-01",
        "2025-02-01",
        &[
            "2024-01-31",
            "2024-03-31",
            "2024-05-31",
            "2024-07-31",
            "2024-09-30",
            "2024-11-30",
            "2025-01-31",
        ],
    );
    check(
        s("2026-01-15 09:00", 1),
        "2026-01-01",
        "2026-04-01",
        &["2026-01-15", "2026-02-15", "2026-03-15"],
    );
    check(
        s("2026-01-30 09:00", 1),
        "2026-01-01",
        "2026-04-01",
        &["2026-01-30", "2026-02-28", "2026-03-30"],
    );
    check(
        s("2024-02-29 09:00", 12),
        "2024-01-01",
        "2028-03-01",
        &[
            "2024-02-29",
            "2025-02-28",
            "2026-02-28",
            "2027-02-28",
            "2028-02-29",
        ],
    );
}

#[test]
fn monthly_day_weekno_for_every_week_of_the_month() {
    // Thursdays of 2026: Jan 1 8 15 22 29, Feb 5 12 19 26, Mar 5 12 19 26, Apr 2 9 16 23 30, May 7 14 21 28.
    let s = |day: &str, each, last| {
        let r = Rule {
            monthly_last_week: last,
            ..rule(MonthlyDayWeekno, each)
        };
        series(UTC, &format!("2026-01-{day} 09:00"), 30, Some(r))
    };
    let (from, to) = ("2026-01-01", "2026-06-01");
    check(
        s("01", 1, false),
        from,
        to,
        &[
            "2026-01-01",
            "2026-02-05",
            "2026-03-05",
            "2026-04-02",
            "2026-05-07",
        ],
    );
    check(
        s("08", 1, false),
        from,
        to,
        &[
            "2026-01-08",
            "2026-02-12",
            "2026-03-12",
            "2026-04-09",
            "2026-05-14",
        ],
    );
    check(
        s("15", 1, false),
        from,
        to,
        &[
            "2026-01-15",
            "2026-02-19",
            "2026-03-19",
            "2026-04-16",
            "2026-05-21",
        ],
    );
    check(
        s("22", 1, false),
        from,
        to,
        &[
            "2026-01-22",
            "2026-02-26",
            "2026-03-26",
            "2026-04-23",
            "2026-05-28",
        ],
    );
    check(
        s("29", 1, false),
        from,
        to,
        &[
            "2026-01-29",
            "2026-02-26",
            "2026-03-26",
            "2026-04-30",
            "2026-05-28",
        ],
    );
    // "Last week" from the 2nd Thursday: S, then the last Thursday of S's own month too.
    check(
        s("08", 1, true),
        from,
        to,
        &[
            "2026-01-08",
            "2026-01-29",
            "2026-02-26",
            "2026-03-26",
            "2026-04-30",
            "2026-05-28",
        ],
    );
    check(
        s("08", 2, false),
        from,
        to,
        &["2026-01-08", "2026-03-12", "2026-05-14"],
    );
    check(
        s("29", 2, false),
        from,
        to,
        &["2026-01-29", "2026-03-26", "2026-05-28"],
    );
}

#[test]
fn yearly_including_leap_day() {
    let s = |start, each| series(UTC, start, 30, Some(rule(Yearly, each)));
    check(
        s("2024-02-29 09:00", 1),
        "2024-01-01",
        "2028-03-01",
        &[
            "2024-02-29",
            "2025-02-28",
            "2026-02-28",
            "2027-02-28",
            "2028-02-29",
        ],
    );
    check(
        s("2024-02-29 09:00", 2),
        "2024-01-01",
        "2028-03-01",
        &["2024-02-29", "2026-02-28", "2028-02-29"],
    );
    check(
        s("2026-07-31 09:00", 3),
        "2026-01-01",
        "2033-01-01",
        &["2026-07-31", "2029-07-31", "2032-07-31"],
    );
}

#[test]
fn due_date_is_an_inclusive_bound_on_starts() {
    let s = |due| {
        series(
            Berlin,
            "2026-01-01 09:00",
            60,
            Some(until(Berlin, due, rule(Daily, 1))),
        )
    };
    let all = [
        "2026-01-01",
        "2026-01-02",
        "2026-01-03",
        "2026-01-04",
        "2026-01-05",
    ];
    check(s("2026-01-05 09:00"), "2026-01-01", "2026-02-01", &all);
    check(s("2026-01-05 08:59"), "2026-01-01", "2026-02-01", &all[..4]);
    check(s("2026-01-01 12:00"), "2026-01-01", "2026-02-01", &all[..1]);
    // Rejected by the API, but S stays the first occurrence regardless.
    check(s("2025-12-01 00:00"), "2026-01-01", "2026-02-01", &all[..1]);
}

#[test]
fn due_date_inside_an_occurrence_still_lets_it_run_to_its_end() {
    let s = series(
        UTC,
        "2026-01-01 09:00",
        120,
        Some(until(UTC, "2026-01-03 10:00", rule(Daily, 1))),
    );
    check(s.clone(), "2026-01-03 10:30", "2026-02-01", &["2026-01-03"]);
    assert_eq!(
        s.last_end(),
        Some(to_instant(UTC, local("2026-01-03 11:00")))
    );
}

#[test]
fn last_end_follows_the_last_start_before_due() {
    let monthly = series(
        UTC,
        "2026-01-31 09:00",
        60,
        Some(until(UTC, "2026-03-15 00:00", rule(MonthlyNumber, 1))),
    );
    assert_eq!(
        monthly.last_end(),
        Some(to_instant(UTC, local("2026-02-28 10:00")))
    );
    let weekdays = on_days(Weekly, 2, &[Weekday::Mon, Weekday::Fri]);
    let weekly = series(
        Berlin,
        "2026-01-07 09:00",
        60,
        Some(until(Berlin, "2026-02-01 00:00", weekdays)),
    );
    assert_eq!(
        weekly.last_end(),
        Some(to_instant(Berlin, local("2026-01-23 10:00")))
    );
    let early = series(
        UTC,
        "2026-01-31 09:00",
        60,
        Some(until(UTC, "2026-02-01 00:00", rule(Yearly, 1))),
    );
    assert_eq!(early.last_end(), Some(early.end));
    let forever = series(UTC, "2026-01-31 09:00", 60, Some(rule(Daily, 1)));
    assert_eq!(forever.last_end(), None);
}

#[test]
fn window_bounds_are_start_before_to_and_end_after_from() {
    let s = series(UTC, "2026-01-01 09:00", 60, Some(rule(Daily, 1)));
    check(s.clone(), "2026-01-02 10:00", "2026-01-03 09:00", &[]);
    check(
        s.clone(),
        "2026-01-02 09:59",
        "2026-01-03 09:01",
        &["2026-01-02", "2026-01-03"],
    );
    check(s.clone(), "2026-01-02 09:00", "2026-01-02 09:00", &[]);
    check(s, "2026-01-03", "2026-01-02", &[]);
}

#[test]
fn an_occurrence_started_before_the_window_is_included() {
    // 25-hour occurrences: the one from 2 Jan 09:00 runs until 3 Jan 10:00.
    let s = series(UTC, "2026-01-01 09:00", 25 * 60, Some(rule(Daily, 1)));
    check(
        s.clone(),
        "2026-01-03 08:00",
        "2026-01-03 08:30",
        &["2026-01-02"],
    );
    check(
        s,
        "2026-01-03 09:30",
        "2026-01-03 09:45",
        &["2026-01-02", "2026-01-03"],
    );
}

#[test]
fn starting_from_is_lazy_and_skips_earlier_starts() {
    let s = series(Berlin, "1900-01-01 09:00", 60, Some(rule(Daily, 1)));
    let next = s.starting_from(to_instant(Berlin, local("2026-05-01 09:00")));
    let next: Vec<_> = next
        .take(3)
        .map(|o| to_local(Berlin, o.start).to_string())
        .collect();
    assert_eq!(
        next,
        [
            "2026-05-01 09:00:00",
            "2026-05-02 09:00:00",
            "2026-05-03 09:00:00"
        ]
    );
    let after_first = s
        .starting_from(s.start + TimeDelta::seconds(1))
        .next()
        .unwrap();
    assert_eq!(
        to_local(Berlin, after_first.start),
        local("1900-01-02 09:00")
    );
    assert_eq!(s.starting_from(s.start).next().unwrap().start, s.start);
}

#[test]
fn weekly_nine_o_clock_in_berlin_stays_nine_o_clock() {
    let s = series(Berlin, "2026-03-16 09:00", 60, Some(rule(Weekly, 1)));
    let spring = ("2026-03-16", "2026-04-07");
    let autumn = ("2026-10-19", "2026-11-03");
    assert_eq!(
        starts(&s, spring.0, spring.1),
        at_nine(&["2026-03-16", "2026-03-23", "2026-03-30", "2026-04-06"])
    );
    assert_eq!(
        utc_starts(&s, spring.0, spring.1),
        [
            "2026-03-16 08:00Z",
            "2026-03-23 08:00Z",
            "2026-03-30 07:00Z",
            "2026-04-06 07:00Z"
        ]
    );
    assert_eq!(
        starts(&s, autumn.0, autumn.1),
        at_nine(&["2026-10-19", "2026-10-26", "2026-11-02"])
    );
    assert_eq!(
        utc_starts(&s, autumn.0, autumn.1),
        [
            "2026-10-19 07:00Z",
            "2026-10-26 08:00Z",
            "2026-11-02 08:00Z"
        ]
    );
}

#[test]
fn daily_in_the_spring_gap_moves_forward_by_the_gap() {
    let s = series(Berlin, "2026-03-27 02:30", 60, Some(rule(Daily, 1)));
    let expected = [
        "2026-03-27 02:30",
        "2026-03-28 02:30",
        "2026-03-29 03:30",
        "2026-03-30 02:30",
    ];
    assert_eq!(starts(&s, "2026-03-27", "2026-03-31"), expected);
    let gap_day = s.overlapping(
        to_instant(Berlin, local("2026-03-29")),
        to_instant(Berlin, local("2026-03-30")),
    );
    let gap_day: Vec<_> = gap_day.collect();
    assert_eq!(
        gap_day[0].start,
        Utc.with_ymd_and_hms(2026, 3, 29, 1, 30, 0).unwrap()
    );
    assert_eq!(gap_day[0].end - gap_day[0].start, TimeDelta::hours(1));
}

#[test]
fn a_series_started_in_the_spring_gap_keeps_its_written_wall_time() {
    // Written as 02:30 on the gap day: the first occurrence moves to 03:30, the rest stay at
    // 02:30, and the first one is not repeated on its own day.
    let s = Series {
        wall_start: local("2026-03-29 02:30"),
        ..series(Berlin, "2026-03-29 02:30", 60, Some(rule(Daily, 1)))
    };
    let expected = ["2026-03-29 03:30", "2026-03-30 02:30", "2026-03-31 02:30"];
    assert_eq!(starts(&s, "2026-03-28", "2026-04-01"), expected);
    let later = s.starting_from(to_instant(Berlin, local("2026-06-01")));
    assert_eq!(
        later.map(|o| o.start).next(),
        Some(Utc.with_ymd_and_hms(2026, 6, 1, 0, 30, 0).unwrap())
    );
    assert_eq!(
        Series {
            rule: Some(until(Berlin, "2026-04-02 00:00", rule(Daily, 1))),
            ..s
        }
        .last_end(),
        Some(Utc.with_ymd_and_hms(2026, 4, 1, 1, 30, 0).unwrap())
    );
}

#[test]
fn daily_on_the_fall_back_day_takes_the_earlier_instant() {
    let s = series(Berlin, "2026-10-23 02:30", 60, Some(rule(Daily, 1)));
    assert_eq!(
        utc_starts(&s, "2026-10-24", "2026-10-27"),
        [
            "2026-10-24 00:30Z",
            "2026-10-25 00:30Z",
            "2026-10-26 01:30Z"
        ]
    );
}

#[test]
fn sydney_both_transitions() {
    // AEDT (+11) ends 5 Apr 2026 03:00 → 02:00; AEDT starts again 4 Oct 2026 02:00 → 03:00.
    let daily = series(Sydney, "2026-04-03 02:30", 60, Some(rule(Daily, 1)));
    assert_eq!(
        utc_starts(&daily, "2026-04-03", "2026-04-07"),
        [
            "2026-04-02 15:30Z",
            "2026-04-03 15:30Z",
            "2026-04-04 15:30Z",
            "2026-04-05 16:30Z"
        ]
    );
    assert_eq!(
        starts(&daily, "2026-10-03", "2026-10-06"),
        ["2026-10-03 02:30", "2026-10-04 03:30", "2026-10-05 02:30"]
    );
    assert_eq!(
        utc_starts(&daily, "2026-10-03", "2026-10-06"),
        [
            "2026-10-02 16:30Z",
            "2026-10-03 16:30Z",
            "2026-10-04 15:30Z"
        ]
    );
    let weekly = series(Sydney, "2026-03-30 09:00", 60, Some(rule(Weekly, 1)));
    assert_eq!(
        utc_starts(&weekly, "2026-03-30", "2026-04-07"),
        ["2026-03-29 22:00Z", "2026-04-05 23:00Z"]
    );
    assert_eq!(
        utc_starts(&weekly, "2026-09-28", "2026-10-06"),
        ["2026-09-27 23:00Z", "2026-10-04 22:00Z"]
    );
}

#[test]
fn santiago_transitions_at_midnight() {
    // Chile moves 24:00 → 01:00 on 6 Sep 2026 and 24:00 → 23:00 on 4 Apr 2026.
    let spring = series(Santiago, "2026-09-04 00:30", 30, Some(rule(Daily, 1)));
    assert_eq!(
        starts(&spring, "2026-09-04", "2026-09-08"),
        [
            "2026-09-04 00:30",
            "2026-09-05 00:30",
            "2026-09-06 01:30",
            "2026-09-07 00:30"
        ]
    );
    let autumn = series(Santiago, "2026-04-02 23:30", 30, Some(rule(Daily, 1)));
    assert_eq!(
        utc_starts(&autumn, "2026-04-02", "2026-04-06"),
        [
            "2026-04-03 02:30Z",
            "2026-04-04 02:30Z",
            "2026-04-05 02:30Z",
            "2026-04-06 03:30Z"
        ]
    );
}

#[test]
fn samoa_skipped_day_is_not_doubled() {
    // Samoa skipped 30 Dec 2011: that day's 09:00 lands on 31 Dec 09:00, kept once.
    let apia = chrono_tz::Pacific::Apia;
    let s = series(apia, "2011-12-28 09:00", 60, Some(rule(Daily, 1)));
    assert_eq!(
        starts(&s, "2011-12-28", "2012-01-02"),
        [
            "2011-12-28 09:00",
            "2011-12-29 09:00",
            "2011-12-31 09:00",
            "2012-01-01 09:00"
        ]
    );
}

#[test]
fn an_old_series_is_expanded_from_the_window_not_from_its_start() {
    let s = series(Berlin, "1900-01-01 09:00", 60, Some(rule(Daily, 1)));
    check(
        s.clone(),
        "2026-03-28",
        "2026-03-31",
        &["2026-03-28", "2026-03-29", "2026-03-30"],
    );
    let from = to_instant(Berlin, local("2026-03-28 00:00"));
    let stream = s.occurrences_reaching(Some(from));
    assert!(stream.first.is_none());
    let first_candidate = stream
        .pattern
        .unwrap()
        .dates_in(stream.next_period)
        .unwrap()[0];
    assert!(
        first_candidate >= local("2026-03-25 00:00").date(),
        "{first_candidate}"
    );

    let yearly = series(UTC, "1900-01-01 09:00", 60, Some(rule(Yearly, 7)));
    let stream = yearly.occurrences_reaching(Some(from));
    let first_candidate = stream
        .pattern
        .unwrap()
        .dates_in(stream.next_period)
        .unwrap()[0];
    assert!(
        (2020..=2026).contains(&first_candidate.year()),
        "{first_candidate}"
    );
}

#[test]
fn the_end_of_the_calendar_ends_the_stream() {
    let s = series(UTC, "2026-01-01 09:00", 60, Some(rule(Yearly, 1000)));
    let all: Vec<_> = s
        .overlapping(DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC)
        .collect();
    assert_eq!(all.len(), 260); // 2026, 3026, …, 261026
    let daily = series(UTC, "2026-01-01 09:00", 60, Some(rule(Daily, 1)));
    let far = Utc.with_ymd_and_hms(261_999, 1, 1, 0, 0, 0).unwrap();
    assert_eq!(daily.starting_from(far).count(), 365 + 366); // to the end of 262000
}

#[test]
fn repeat_type_names_and_the_weakly_alias() {
    use serde::de::{value::Error, IntoDeserializer};
    let read = |s: &str| RepeatType::deserialize(s.into_deserializer()).map_err(|e: Error| e);
    assert_eq!(read("weakly").unwrap(), Weekly);
    assert_eq!(read("weekly").unwrap(), Weekly);
    assert_eq!(read("monthly_day_weekno").unwrap(), MonthlyDayWeekno);
    assert!(read("fortnightly").is_err());
    let schema = schemars::schema_for!(RepeatType);
    let names: Vec<_> = schema
        .schema
        .enum_values
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            "daily",
            "weekly",
            "monthly_number",
            "monthly_day_weekno",
            "yearly",
            "workday"
        ]
    );
}
