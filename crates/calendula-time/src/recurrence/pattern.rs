//! The calendar shape of a rule, reduced to dates.
//!
//! Every repeat type divides the calendar into consecutive *periods* (days, 7-day blocks,
//! Monday weeks, months, years) numbered from the one holding S. A candidate of period `p`
//! always falls inside period `p`, and only periods that are multiples of `each` hold
//! candidates. That makes "which period holds this date" a constant-time division, which
//! is what lets a window far from S be expanded without walking there.

use chrono::{Datelike, NaiveDate, TimeDelta, Weekday};

use super::{RepeatType, Rule};

/// Candidate dates further out than this are not produced: chrono's calendar ends near
/// ±262 143 years, and turning wall time into instants needs a little room around it.
const LAST_YEAR: i32 = 262_000;

/// Which occurrence of a weekday within its month a `monthly_day_weekno` rule means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WeekOfMonth {
    Nth(u32),
    Last,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Day,
    Week,
    WeekDays(DaySet),
    Month,
    MonthWeekday(Weekday, WeekOfMonth),
    Year,
}

/// Weekdays as a bit set, bit 0 = Monday; iterating in bit order keeps a week's dates sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DaySet(u8);

impl DaySet {
    const MON_TO_FRI: DaySet = DaySet(0b001_1111);

    fn of(days: &[Weekday]) -> Self {
        DaySet(
            days.iter()
                .fold(0, |set, d| set | 1 << d.num_days_from_monday()),
        )
    }

    fn offsets_from_monday(self) -> impl Iterator<Item = i64> {
        (0..7).filter(move |i| self.0 & (1 << i) != 0)
    }
}

/// A rule's periods, anchored at the date of S.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Pattern {
    anchor: NaiveDate,
    unit: Unit,
    step: i64,
}

impl Pattern {
    pub(super) fn new(rule: &Rule, anchor: NaiveDate) -> Self {
        let unit = match rule.kind {
            RepeatType::Daily => Unit::Day,
            RepeatType::Weekly if rule.weekly_days.is_empty() => Unit::Week,
            RepeatType::Weekly => Unit::WeekDays(DaySet::of(&rule.weekly_days)),
            RepeatType::Workday => Unit::WeekDays(DaySet::MON_TO_FRI),
            RepeatType::MonthlyNumber => Unit::Month,
            RepeatType::MonthlyDayWeekno => Unit::MonthWeekday(
                anchor.weekday(),
                week_of_month(anchor, rule.monthly_last_week),
            ),
            RepeatType::Yearly => Unit::Year,
        };
        // `each` is validated upstream; 0 would otherwise divide by zero.
        let step = i64::from(rule.each.max(1));
        Pattern { anchor, unit, step }
    }

    /// Distance between periods that hold candidates.
    pub(super) fn step(&self) -> i64 {
        self.step
    }

    /// The earliest candidate-holding period (≥ 0) that can hold a date ≥ `date`: every
    /// earlier one lies entirely before `date`, and the next one entirely after it.
    pub(super) fn first_period_reaching(&self, date: NaiveDate) -> i64 {
        (self.period_of(date).div_euclid(self.step) * self.step).max(0)
    }

    /// Candidate dates of `period`, sorted; `None` once the calendar runs out.
    pub(super) fn dates_in(&self, period: i64) -> Option<Vec<NaiveDate>> {
        let dates = match self.unit {
            Unit::Day => vec![add_days(self.anchor, period)?],
            Unit::Week => vec![add_days(self.anchor, period.checked_mul(7)?)?],
            Unit::WeekDays(set) => {
                let monday = add_days(monday_of(self.anchor), period.checked_mul(7)?)?;
                let days = set.offsets_from_monday().map(|i| add_days(monday, i));
                days.collect::<Option<Vec<_>>>()?
            }
            Unit::Month => {
                let (year, month) = self.month_at(period)?;
                vec![clamped_date(year, month, self.anchor.day())?]
            }
            Unit::MonthWeekday(weekday, which) => {
                let (year, month) = self.month_at(period)?;
                vec![weekday_in_month(year, month, weekday, which)?]
            }
            Unit::Year => {
                let year =
                    i32::try_from(i64::from(self.anchor.year()).checked_add(period)?).ok()?;
                vec![clamped_date(year, self.anchor.month(), self.anchor.day())?]
            }
        };
        dates
            .iter()
            .all(|d| d.year().abs() <= LAST_YEAR)
            .then_some(dates)
    }

    /// Number of the period holding `date`, counted from the one holding the anchor.
    fn period_of(&self, date: NaiveDate) -> i64 {
        match self.unit {
            Unit::Day => (date - self.anchor).num_days(),
            Unit::Week => (date - self.anchor).num_days().div_euclid(7),
            Unit::WeekDays(_) => (monday_of(date) - monday_of(self.anchor)).num_days() / 7,
            Unit::Month | Unit::MonthWeekday(..) => month_number(date) - month_number(self.anchor),
            Unit::Year => i64::from(date.year()) - i64::from(self.anchor.year()),
        }
    }

    fn month_at(&self, period: i64) -> Option<(i32, u32)> {
        let month = month_number(self.anchor).checked_add(period)?;
        let year = i32::try_from(month.div_euclid(12)).ok()?;
        Some((year, month.rem_euclid(12) as u32 + 1))
    }
}

/// q = ceil(day / 7), with the fifth week meaning "last" (not every month has one).
pub(super) fn week_of_month(date: NaiveDate, last_week: bool) -> WeekOfMonth {
    match date.day().div_ceil(7) {
        q if q < 5 && !last_week => WeekOfMonth::Nth(q),
        _ => WeekOfMonth::Last,
    }
}

fn add_days(date: NaiveDate, days: i64) -> Option<NaiveDate> {
    date.checked_add_signed(TimeDelta::try_days(days)?)
}

fn monday_of(date: NaiveDate) -> NaiveDate {
    date - TimeDelta::days(i64::from(date.weekday().num_days_from_monday()))
}

fn month_number(date: NaiveDate) -> i64 {
    i64::from(date.year()) * 12 + i64::from(date.month0())
}

/// `day` in the given month, or the month's last day when the month is shorter.
fn clamped_date(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    let first = NaiveDate::from_ymd_opt(year, month, 1)?;
    first.with_day(day.min(u32::from(first.num_days_in_month())))
}

fn weekday_in_month(
    year: i32,
    month: u32,
    weekday: Weekday,
    which: WeekOfMonth,
) -> Option<NaiveDate> {
    let first = NaiveDate::from_ymd_opt(year, month, 1)?;
    let first_match = 1 + days_until(first.weekday(), weekday);
    let day = match which {
        WeekOfMonth::Nth(q) => first_match + 7 * (q - 1),
        WeekOfMonth::Last => {
            let length = u32::from(first.num_days_in_month());
            first_match + 7 * ((length - first_match) / 7)
        }
    };
    first.with_day(day)
}

/// Days from one weekday forward to the next `to` (0 when equal).
fn days_until(from: Weekday, to: Weekday) -> u32 {
    (7 + to.num_days_from_monday() - from.num_days_from_monday()) % 7
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recurrence::proptests::any_kind;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn rule(kind: RepeatType, each: u32, days: &[Weekday], last: bool) -> Rule {
        Rule {
            kind,
            each,
            weekly_days: days.to_vec(),
            monthly_last_week: last,
            due: None,
        }
    }

    #[test]
    fn fifth_week_means_last() {
        assert_eq!(week_of_month(date(2026, 1, 29), false), WeekOfMonth::Last);
        assert_eq!(week_of_month(date(2026, 1, 28), false), WeekOfMonth::Nth(4));
        assert_eq!(week_of_month(date(2026, 1, 7), false), WeekOfMonth::Nth(1));
        assert_eq!(week_of_month(date(2026, 1, 8), true), WeekOfMonth::Last);
    }

    #[test]
    fn weekday_in_month_finds_nth_and_last() {
        let fri = Weekday::Fri;
        assert_eq!(
            weekday_in_month(2026, 5, fri, WeekOfMonth::Nth(1)),
            Some(date(2026, 5, 1))
        );
        assert_eq!(
            weekday_in_month(2026, 5, fri, WeekOfMonth::Last),
            Some(date(2026, 5, 29))
        );
        assert_eq!(
            weekday_in_month(2026, 2, Weekday::Sat, WeekOfMonth::Last),
            Some(date(2026, 2, 28))
        );
        assert_eq!(
            weekday_in_month(2026, 2, Weekday::Sun, WeekOfMonth::Last),
            Some(date(2026, 2, 22))
        );
    }

    #[test]
    fn the_calendar_runs_out_instead_of_panicking() {
        let p = Pattern::new(
            &rule(RepeatType::Yearly, 1000, &[], false),
            date(2026, 1, 1),
        );
        assert_eq!(p.dates_in(i64::MAX), None);
        assert_eq!(p.dates_in(300_000), None);
        let p = Pattern::new(&rule(RepeatType::Daily, 1, &[], false), date(2026, 1, 1));
        assert_eq!(p.dates_in(i64::MAX / 2), None);
    }

    fn weekdays(mask: u8) -> Vec<Weekday> {
        (0..7u8)
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| Weekday::try_from(i).unwrap())
            .collect()
    }

    proptest! {
        /// The jump is tight: it never skips a period that reaches `date`, and never starts
        /// a whole candidate period early — the cost bound of expansion rests on this.
        #[test]
        fn first_period_reaching_is_tight(
            kind in any_kind(), each in 1u32..=12, mask in 0u8..128, last in any::<bool>(),
            anchor in -40_000i64..40_000, target in -40_000i64..80_000,
        ) {
            let anchor = add_days(date(2000, 1, 1), anchor).unwrap();
            let target = add_days(date(2000, 1, 1), target).unwrap();
            let p = Pattern::new(&rule(kind, each, &weekdays(mask), last), anchor);
            let first = p.first_period_reaching(target);
            prop_assert!(first >= 0 && first % p.step() == 0);
            if first >= p.step() {
                prop_assert!(p.dates_in(first - p.step()).unwrap().iter().all(|d| *d < target));
            }
            prop_assert!(p.dates_in(first + p.step()).unwrap().iter().all(|d| *d >= target));
        }

        /// Candidates of a period stay inside it, so periods are sorted against each other.
        #[test]
        fn dates_are_sorted_across_periods(
            kind in any_kind(), each in 1u32..=5, mask in 0u8..128, last in any::<bool>(),
            anchor in -40_000i64..40_000, k in 0i64..500,
        ) {
            let anchor = add_days(date(2000, 1, 1), anchor).unwrap();
            let p = Pattern::new(&rule(kind, each, &weekdays(mask), last), anchor);
            let mut dates = p.dates_in(k * p.step()).unwrap();
            dates.extend(p.dates_in((k + 1) * p.step()).unwrap());
            prop_assert!(dates.windows(2).all(|w| w[0] < w[1]));
        }
    }
}
