//! RFC 5545 export of a rule, for calendar clients that import recurring events.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Weekday};

use super::pattern::{week_of_month, WeekOfMonth};
use super::{RepeatType, Rule};

impl Rule {
    /// The RRULE value (no `RRULE:` prefix) that reproduces this rule for a series whose
    /// first occurrence is `series_local_start`, a wall time in the event's zone (the
    /// matching DTSTART). Weeks start on Monday as in Calendula, days missing from short
    /// months fall back to the month's last day via BYSETPOS=-1, and UNTIL is the due
    /// instant in UTC, as RFC 5545 requires when DTSTART carries a zone.
    pub fn to_rrule(&self, series_local_start: NaiveDateTime) -> String {
        let mut parts = vec![
            format!("FREQ={}", self.frequency()),
            format!("INTERVAL={}", self.each.max(1)),
            "WKST=MO".to_owned(),
        ];
        parts.extend(self.by_parts(series_local_start.date()));
        if let Some(due) = self.due {
            parts.push(format!("UNTIL={}", due.format("%Y%m%dT%H%M%SZ")));
        }
        parts.join(";")
    }

    fn frequency(&self) -> &'static str {
        match self.kind {
            RepeatType::Daily => "DAILY",
            RepeatType::Weekly | RepeatType::Workday => "WEEKLY",
            RepeatType::MonthlyNumber | RepeatType::MonthlyDayWeekno => "MONTHLY",
            RepeatType::Yearly => "YEARLY",
        }
    }

    fn by_parts(&self, start: NaiveDate) -> Vec<String> {
        match self.kind {
            RepeatType::Daily => vec![],
            RepeatType::Weekly if self.weekly_days.is_empty() => vec![],
            RepeatType::Weekly => vec![by_day(&self.weekly_days)],
            RepeatType::Workday => {
                vec![by_day(&[
                    Weekday::Mon,
                    Weekday::Tue,
                    Weekday::Wed,
                    Weekday::Thu,
                    Weekday::Fri,
                ])]
            }
            RepeatType::MonthlyNumber => month_day(start.day(), start.day() > 28),
            RepeatType::MonthlyDayWeekno => {
                let ordinal = match week_of_month(start, self.monthly_last_week) {
                    WeekOfMonth::Nth(q) => q.to_string(),
                    WeekOfMonth::Last => "-1".to_owned(),
                };
                vec![format!("BYDAY={ordinal}{}", day_code(start.weekday()))]
            }
            RepeatType::Yearly => {
                let leap_day = start.month() == 2 && start.day() == 29;
                let mut parts = vec![format!("BYMONTH={}", start.month())];
                parts.extend(month_day(start.day(), leap_day));
                parts
            }
        }
    }
}

/// BYDAY with the days in week order, each once.
fn by_day(days: &[Weekday]) -> String {
    let mut days = days.to_vec();
    days.sort_by_key(|d| d.num_days_from_monday());
    days.dedup();
    let codes: Vec<_> = days.into_iter().map(day_code).collect();
    format!("BYDAY={}", codes.join(","))
}

/// BYMONTHDAY for `day`; when some months lack it, the last of 28..=day that exists.
fn month_day(day: u32, may_be_missing: bool) -> Vec<String> {
    if !may_be_missing {
        return vec![format!("BYMONTHDAY={day}")];
    }
    let days: Vec<_> = (28..=day).map(|d| d.to_string()).collect();
    vec![
        format!("BYMONTHDAY={}", days.join(",")),
        "BYSETPOS=-1".to_owned(),
    ]
}

fn day_code(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "MO",
        Weekday::Tue => "TU",
        Weekday::Wed => "WE",
        Weekday::Thu => "TH",
        Weekday::Fri => "FR",
        Weekday::Sat => "SA",
        Weekday::Sun => "SU",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn rule(kind: RepeatType, each: u32) -> Rule {
        Rule {
            kind,
            each,
            weekly_days: vec![],
            monthly_last_week: false,
            due: None,
        }
    }

    fn at(y: i32, m: u32, d: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap()
    }

    #[test]
    fn rrule_table() {
        use RepeatType::*;
        let weekly_days = Rule {
            weekly_days: vec![Weekday::Wed, Weekday::Mon, Weekday::Wed],
            ..rule(Weekly, 1)
        };
        let workday = Rule {
            weekly_days: vec![Weekday::Sun],
            ..rule(Workday, 1)
        };
        let last_week = Rule {
            monthly_last_week: true,
            ..rule(MonthlyDayWeekno, 1)
        };
        let cases = [
            (
                rule(Daily, 1),
                at(2026, 1, 5),
                "FREQ=DAILY;INTERVAL=1;WKST=MO",
            ),
            (
                rule(Daily, 3),
                at(2026, 1, 5),
                "FREQ=DAILY;INTERVAL=3;WKST=MO",
            ),
            (
                rule(Weekly, 2),
                at(2026, 1, 7),
                "FREQ=WEEKLY;INTERVAL=2;WKST=MO",
            ),
            (
                weekly_days,
                at(2026, 1, 7),
                "FREQ=WEEKLY;INTERVAL=1;WKST=MO;BYDAY=MO,WE",
            ),
            (
                workday,
                at(2026, 1, 7),
                "FREQ=WEEKLY;INTERVAL=1;WKST=MO;BYDAY=MO,TU,WE,TH,FR",
            ),
            (
                rule(MonthlyNumber, 1),
                at(2026, 1, 15),
                "FREQ=MONTHLY;INTERVAL=1;WKST=MO;BYMONTHDAY=15",
            ),
            (
                rule(MonthlyNumber, 1),
                at(2026, 1, 28),
                "FREQ=MONTHLY;INTERVAL=1;WKST=MO;BYMONTHDAY=28",
            ),
            (
                rule(MonthlyNumber, 1),
                at(2026, 1, 31),
                "FREQ=MONTHLY;INTERVAL=1;WKST=MO;BYMONTHDAY=28,29,30,31;BYSETPOS=-1",
            ),
            (
                rule(MonthlyNumber, 6),
                at(2026, 4, 30),
                "FREQ=MONTHLY;INTERVAL=6;WKST=MO;BYMONTHDAY=28,29,30;BYSETPOS=-1",
            ),
            (
                rule(MonthlyDayWeekno, 1),
                at(2026, 1, 13),
                "FREQ=MONTHLY;INTERVAL=1;WKST=MO;BYDAY=2TU",
            ),
            (
                rule(MonthlyDayWeekno, 2),
                at(2026, 1, 30),
                "FREQ=MONTHLY;INTERVAL=2;WKST=MO;BYDAY=-1FR",
            ),
            (
                last_week,
                at(2026, 1, 9),
                "FREQ=MONTHLY;INTERVAL=1;WKST=MO;BYDAY=-1FR",
            ),
            (
                rule(Yearly, 1),
                at(2026, 7, 31),
                "FREQ=YEARLY;INTERVAL=1;WKST=MO;BYMONTH=7;BYMONTHDAY=31",
            ),
            (
                rule(Yearly, 4),
                at(2024, 2, 29),
                "FREQ=YEARLY;INTERVAL=4;WKST=MO;BYMONTH=2;BYMONTHDAY=28,29;BYSETPOS=-1",
            ),
        ];
        for (rule, start, expected) in cases {
            assert_eq!(rule.to_rrule(start), expected, "{rule:?} from {start}");
        }
    }

    #[test]
    fn due_becomes_utc_until() {
        let due = Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 59).unwrap();
        let rule = Rule {
            due: Some(due),
            ..rule(RepeatType::Daily, 1)
        };
        assert_eq!(
            rule.to_rrule(at(2026, 1, 1)),
            "FREQ=DAILY;INTERVAL=1;WKST=MO;UNTIL=20261231T235959Z"
        );
    }
}
