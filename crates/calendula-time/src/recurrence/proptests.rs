//! Properties of expansion over random series and windows, checked against a brute-force
//! oracle that walks the calendar day by day and tests each date against SPEC §5 directly.

use super::*;
use chrono::{Datelike, Months, TimeZone};
use proptest::prelude::*;

const ZONES: [Tz; 7] = [
    chrono_tz::UTC,
    chrono_tz::Europe::Berlin,
    chrono_tz::America::New_York,
    chrono_tz::America::Santiago,
    chrono_tz::Australia::Sydney,
    chrono_tz::Asia::Kolkata,
    chrono_tz::Pacific::Apia,
];

const DAY: i64 = 86_400;
const YEAR: i64 = 365 * DAY;

/// Any repeat type (also used by `pattern`'s property tests).
pub(super) fn any_kind() -> impl Strategy<Value = RepeatType> {
    prop_oneof![
        Just(RepeatType::Daily),
        Just(RepeatType::Weekly),
        Just(RepeatType::MonthlyNumber),
        Just(RepeatType::MonthlyDayWeekno),
        Just(RepeatType::Yearly),
        Just(RepeatType::Workday),
    ]
}

fn weekdays(mask: u8) -> Vec<Weekday> {
    (0..7u8)
        .filter(|i| mask & (1 << i) != 0)
        .map(|i| Weekday::try_from(i).unwrap())
        .collect()
}

fn instant(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).unwrap()
}

/// Series starting 1900..2300 in one of a few zones, lasting 1 minute to 3 days, with a due
/// date at or after the start (the API rejects earlier ones) or none. Past 2099 the zones'
/// offsets come from a proxy year (`localtime`), which these properties cover too.
fn any_series() -> impl Strategy<Value = Series> {
    let start = instant(-2_208_988_800).timestamp()..instant(10_413_792_000).timestamp();
    (
        (any_kind(), 1u32..=5, 0u8..128, any::<bool>()),
        0..ZONES.len(),
        start,
        60i64..=3 * DAY,
        proptest::option::of(0i64..4 * YEAR),
    )
        .prop_map(|((kind, each, mask, last), zone, start, length, due)| {
            let start = instant(start);
            let due = due.map(|d| start + TimeDelta::seconds(d));
            let rule = Rule {
                kind,
                each,
                weekly_days: weekdays(mask),
                monthly_last_week: last,
                due,
            };
            Series::new(
                start,
                start + TimeDelta::seconds(length),
                ZONES[zone],
                Some(rule),
            )
        })
}

/// A window `[from, to)` placed relative to S: `offset` after it, `length` long.
fn window(s: &Series, offset: i64, length: i64) -> (DateTime<Utc>, DateTime<Utc>) {
    let from = s.start + TimeDelta::seconds(offset);
    (from, from + TimeDelta::seconds(length))
}

fn month_length(date: NaiveDate) -> u32 {
    let (y, m) = if date.month() == 12 {
        (date.year() + 1, 1)
    } else {
        (date.year(), date.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .unwrap()
        .pred_opt()
        .unwrap()
        .day()
}

fn monday(date: NaiveDate) -> NaiveDate {
    date - TimeDelta::days(date.weekday().num_days_from_monday().into())
}

/// SPEC §5 as a predicate on one date: is `date` a candidate date of the rule from `s`?
fn is_candidate(rule: &Rule, s: NaiveDate, date: NaiveDate) -> bool {
    let n = i64::from(rule.each);
    let days = (date - s).num_days();
    let weeks = (monday(date) - monday(s)).num_days() / 7;
    let months =
        i64::from(date.year() - s.year()) * 12 + i64::from(date.month()) - i64::from(s.month());
    let years = i64::from(date.year() - s.year());
    let clamped_day = date.day() == s.day().min(month_length(date));
    let week_of = |d: u32| d.div_ceil(7);
    match rule.kind {
        RepeatType::Daily => days % n == 0,
        RepeatType::Weekly if rule.weekly_days.is_empty() => days % (7 * n) == 0,
        RepeatType::Weekly => rule.weekly_days.contains(&date.weekday()) && weeks % n == 0,
        RepeatType::Workday => date.weekday().number_from_monday() <= 5 && weeks % n == 0,
        RepeatType::MonthlyNumber => months % n == 0 && clamped_day,
        RepeatType::MonthlyDayWeekno => {
            let last = rule.monthly_last_week || week_of(s.day()) == 5;
            let week_matches = if last {
                date.day() + 7 > month_length(date)
            } else {
                week_of(date.day()) == week_of(s.day())
            };
            months % n == 0 && date.weekday() == s.weekday() && week_matches
        }
        RepeatType::Yearly => years % n == 0 && date.month() == s.month() && clamped_day,
    }
}

/// Every occurrence starting on a local date up to `last_date`, by walking from S.
fn oracle(s: &Series, last_date: NaiveDate) -> Vec<Occurrence> {
    let rule = s.rule.as_ref().unwrap();
    let local_start = to_local(s.tz, s.start);
    let duration = s.end - s.start;
    let dates = local_start
        .date()
        .iter_days()
        .skip(1)
        .take_while(|d| *d <= last_date);
    let starts = dates
        .filter(|d| is_candidate(rule, local_start.date(), *d))
        .map(|d| to_instant(s.tz, d.and_time(local_start.time())))
        .filter(|start| rule.due.is_none_or(|due| *start <= due));
    let mut all: Vec<_> = starts
        .map(|start| Occurrence {
            start,
            end: start + duration,
        })
        .collect();
    all.push(s.first());
    all.sort();
    all.dedup();
    all
}

fn expand(s: &Series, (from, to): (DateTime<Utc>, DateTime<Utc>)) -> Vec<Occurrence> {
    s.overlapping(from, to).collect()
}

/// The same series begun `periods` repetitions earlier, at the same wall-clock time; `None`
/// when no such start exists (a day missing from that month, or a time inside a DST gap).
fn started_earlier(s: &Series, periods: u32) -> Option<Series> {
    let rule = s.rule.clone().unwrap();
    let local = to_local(s.tz, s.start);
    let date = local.date();
    let back = periods * rule.each;
    let (earlier, rule) = match rule.kind {
        RepeatType::Daily => (date - TimeDelta::days(back.into()), rule),
        RepeatType::Weekly | RepeatType::Workday => (date - TimeDelta::weeks(back.into()), rule),
        RepeatType::MonthlyNumber => {
            let earlier = date.checked_sub_months(Months::new(back))?;
            (earlier.day() == date.day()).then_some((earlier, rule))?
        }
        RepeatType::Yearly => (
            date.with_year(date.year() - i32::try_from(back).ok()?)?,
            rule,
        ),
        RepeatType::MonthlyDayWeekno => {
            let last = rule.monthly_last_week || date.day().div_ceil(7) == 5;
            let month = date.with_day(1)?.checked_sub_months(Months::new(back))?;
            let same_weekday: Vec<_> = month
                .iter_days()
                .take_while(|d| d.month() == month.month())
                .filter(|d| d.weekday() == date.weekday())
                .collect();
            let q = date.day().div_ceil(7) as usize;
            let earlier = if last {
                *same_weekday.last()?
            } else {
                same_weekday[q - 1]
            };
            (
                earlier,
                Rule {
                    monthly_last_week: last,
                    ..rule
                },
            )
        }
    };
    let start_local = earlier.and_time(local.time());
    let start = to_instant(s.tz, start_local);
    (to_local(s.tz, start) == start_local)
        .then(|| Series::new(start, start + (s.end - s.start), s.tz, Some(rule)))
}

/// Roughly `years` worth of the rule's periods.
fn periods_in_years(rule: &Rule, years: u32) -> u32 {
    let per_year = match rule.kind {
        RepeatType::Daily => 365,
        RepeatType::Weekly | RepeatType::Workday => 52,
        RepeatType::MonthlyNumber | RepeatType::MonthlyDayWeekno => 12,
        RepeatType::Yearly => 1,
    };
    (years * per_year / rule.each).max(1)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn matches_the_brute_force_oracle(
        s in any_series(), offset in -30 * DAY..3 * YEAR, length in 60i64..120 * DAY,
    ) {
        let (from, to) = window(&s, offset, length);
        let got = expand(&s, (from, to));
        prop_assert!(got.windows(2).all(|w| w[0].start < w[1].start), "not sorted and unique");
        for o in &got {
            prop_assert!(o.start < to && o.end > from);
            prop_assert_eq!(o.end - o.start, s.end - s.start);
            let due = s.rule.as_ref().unwrap().due;
            prop_assert!(o.start == s.start || due.is_none_or(|due| o.start <= due));
        }
        let last_date = to_local(s.tz, to).date() + TimeDelta::days(3);
        let expected: Vec<_> = oracle(&s, last_date).into_iter().filter(|o| o.start < to && o.end > from).collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn splitting_a_window_changes_nothing(
        s in any_series(), offset in -30 * DAY..3 * YEAR, a in 60i64..60 * DAY, b in 60i64..60 * DAY,
    ) {
        let (from, mid) = window(&s, offset, a);
        let to = mid + TimeDelta::seconds(b);
        let mut joined = expand(&s, (from, mid));
        joined.extend(expand(&s, (mid, to)));
        // Occurrences running across `mid` are in both halves.
        joined.sort();
        joined.dedup();
        prop_assert_eq!(expand(&s, (from, to)), joined);
    }

    #[test]
    fn an_earlier_start_by_whole_periods_changes_nothing_later(
        s in any_series(), years in 1u32..150, offset in 40 * DAY..3 * YEAR, length in 60i64..120 * DAY,
    ) {
        let periods = periods_in_years(s.rule.as_ref().unwrap(), years);
        let old = started_earlier(&s, periods);
        prop_assume!(old.is_some(), "no such earlier start");
        let old = old.unwrap();
        let w = window(&s, offset, length);
        prop_assert_eq!(expand(&old, w), expand(&s, w), "from {}", to_local(s.tz, old.start));
    }

    #[test]
    fn starting_from_agrees_with_overlapping(s in any_series(), offset in -30 * DAY..3 * YEAR) {
        let (t, until) = window(&s, offset, 60 * DAY);
        let lazy: Vec<_> = s.starting_from(t).take_while(|o| o.start < until).collect();
        let windowed: Vec<_> = expand(&s, (t, until)).into_iter().filter(|o| o.start >= t).collect();
        prop_assert_eq!(lazy, windowed);
    }

    #[test]
    fn last_end_is_where_the_last_occurrence_ends(s in any_series()) {
        match s.rule.as_ref().unwrap().due {
            Some(due) => {
                let last = s.overlapping(s.start, due + TimeDelta::days(1)).last().map(|o| o.end);
                prop_assert_eq!(s.last_end(), last);
            }
            None => prop_assert_eq!(s.last_end(), None),
        }
    }
}
