//! A user's working hours (`WorkDays` in the API) turned into instants in their own zone.

use chrono::{Datelike, Days, NaiveDate, NaiveTime, Weekday};
use chrono_tz::Tz;

use crate::intervals::{clip, complement, merge, Interval};
use crate::localtime::{to_instant, to_local};

/// Shifts on the days `day_from..=day_to` (a cyclic range), from `time_from` to `time_to`
/// local time. `time_to < time_from` is an overnight shift ending the next day;
/// `time_to == time_from` is a 24-hour shift. A shift belongs to the day it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkHours {
    pub day_from: Weekday,
    pub day_to: Weekday,
    pub time_from: NaiveTime,
    pub time_to: NaiveTime,
}

impl WorkHours {
    /// Whether a shift starts on `day`. The range wraps around the week, so `fri..mon`
    /// covers the weekend and `mon..mon` is Monday alone.
    pub fn starts_on(&self, day: Weekday) -> bool {
        let from = self.day_from.num_days_from_monday();
        let offset = |d: Weekday| (d.num_days_from_monday() + 7 - from) % 7;
        offset(day) <= offset(self.day_to)
    }

    /// The shift starting on local `date`, if that is a working day. Both ends are wall
    /// times read with [`to_instant`], so a 09:00–18:00 day stays 09:00–18:00 on the clock
    /// across DST changes. A shift lying wholly inside a spring-forward gap comes out
    /// empty (and is dropped by [`merge`]).
    pub fn shift_on(&self, tz: Tz, date: NaiveDate) -> Option<Interval> {
        if !self.starts_on(date.weekday()) {
            return None;
        }
        let end_date = if self.time_to <= self.time_from {
            date.checked_add_days(Days::new(1))?
        } else {
            date
        };
        Some(Interval::new(
            to_instant(tz, date.and_time(self.time_from)),
            to_instant(tz, end_date.and_time(self.time_to)),
        ))
    }

    /// Working intervals overlapping `window`, computed in the user's zone `tz`, merged and
    /// clipped to window.
    ///
    /// Starts one local day before the window so that an overnight (or 24-hour) shift begun
    /// the day before is included; cost is proportional to the window's length in days.
    pub fn working(&self, tz: Tz, window: Interval) -> Vec<Interval> {
        if window.is_empty() {
            return Vec::new();
        }
        let first = to_local(tz, window.start).date();
        let first = first.pred_opt().unwrap_or(first);
        let last = to_local(tz, window.end).date();
        let shifts = first
            .iter_days()
            .take_while(|date| *date <= last)
            .filter_map(|date| self.shift_on(tz, date));
        clip(&merge(shifts), window)
    }

    /// Complement of `working` within window.
    pub fn off_hours(&self, tz: Tz, window: Interval) -> Vec<Interval> {
        complement(&self.working(tz, window), window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, TimeZone, Utc};
    use chrono_tz::{America::New_York, Asia::Tokyo, Europe::Berlin};
    use Weekday::*;

    fn hours(day_from: Weekday, day_to: Weekday, from: &str, to: &str) -> WorkHours {
        let time = |s: &str| NaiveTime::parse_from_str(s, "%H:%M").unwrap();
        WorkHours {
            day_from,
            day_to,
            time_from: time(from),
            time_to: time(to),
        }
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn iv(start: &str, end: &str) -> Interval {
        Interval::new(utc(start), utc(end))
    }

    /// Local midnight of a date in `tz`, as a window edge.
    fn local_midnight(tz: Tz, y: i32, m: u32, d: u32) -> DateTime<Utc> {
        tz.with_ymd_and_hms(y, m, d, 0, 0, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    /// Monday 2026-01-05 00:00 to Monday 2026-01-12 00:00, Berlin time (CET, UTC+1).
    fn berlin_week() -> Interval {
        Interval::new(
            local_midnight(Berlin, 2026, 1, 5),
            local_midnight(Berlin, 2026, 1, 12),
        )
    }

    #[test]
    fn cyclic_day_ranges() {
        let days = |h: WorkHours| -> Vec<Weekday> {
            [Mon, Tue, Wed, Thu, Fri, Sat, Sun]
                .into_iter()
                .filter(|d| h.starts_on(*d))
                .collect()
        };
        assert_eq!(
            days(hours(Mon, Fri, "09:00", "18:00")),
            [Mon, Tue, Wed, Thu, Fri]
        );
        assert_eq!(
            days(hours(Fri, Mon, "09:00", "18:00")),
            [Mon, Fri, Sat, Sun]
        );
        assert_eq!(
            days(hours(Sun, Thu, "09:00", "18:00")),
            [Mon, Tue, Wed, Thu, Sun]
        );
        assert_eq!(days(hours(Mon, Mon, "09:00", "18:00")), [Mon]);
        assert_eq!(days(hours(Sun, Sat, "09:00", "18:00")).len(), 7);
    }

    #[test]
    fn office_week_in_berlin() {
        let working = hours(Mon, Fri, "09:00", "18:00").working(Berlin, berlin_week());
        assert_eq!(
            working,
            vec![
                iv("2026-01-05T08:00:00Z", "2026-01-05T17:00:00Z"),
                iv("2026-01-06T08:00:00Z", "2026-01-06T17:00:00Z"),
                iv("2026-01-07T08:00:00Z", "2026-01-07T17:00:00Z"),
                iv("2026-01-08T08:00:00Z", "2026-01-08T17:00:00Z"),
                iv("2026-01-09T08:00:00Z", "2026-01-09T17:00:00Z"),
            ]
        );
    }

    #[test]
    fn off_hours_is_the_rest_of_the_week() {
        let week = berlin_week();
        let off = hours(Mon, Fri, "09:00", "18:00").off_hours(Berlin, week);
        assert_eq!(off.len(), 6);
        assert_eq!(
            off[0],
            Interval::new(week.start, utc("2026-01-05T08:00:00Z"))
        );
        assert_eq!(off[1], iv("2026-01-05T17:00:00Z", "2026-01-06T08:00:00Z"));
        assert_eq!(off[5], Interval::new(utc("2026-01-09T17:00:00Z"), week.end));
    }

    #[test]
    fn spring_forward_keeps_wall_clock_hours() {
        // Berlin: Sunday 2026-03-29 02:00 CET -> 03:00 CEST.
        let window = iv("2026-03-27T00:00:00Z", "2026-03-31T00:00:00Z");
        let working = hours(Sat, Mon, "09:00", "18:00").working(Berlin, window);
        assert_eq!(
            working,
            vec![
                iv("2026-03-28T08:00:00Z", "2026-03-28T17:00:00Z"), // CET
                iv("2026-03-29T07:00:00Z", "2026-03-29T16:00:00Z"), // CEST
                iv("2026-03-30T07:00:00Z", "2026-03-30T16:00:00Z"),
            ]
        );
    }

    #[test]
    fn fall_back_keeps_wall_clock_hours() {
        // Berlin: Sunday 2026-10-25 03:00 CEST -> 02:00 CET.
        let window = iv("2026-10-23T00:00:00Z", "2026-10-27T00:00:00Z");
        let working = hours(Sat, Mon, "09:00", "18:00").working(Berlin, window);
        assert_eq!(
            working,
            vec![
                iv("2026-10-24T07:00:00Z", "2026-10-24T16:00:00Z"), // CEST
                iv("2026-10-25T08:00:00Z", "2026-10-25T17:00:00Z"), // CET
                iv("2026-10-26T08:00:00Z", "2026-10-26T17:00:00Z"),
            ]
        );
    }

    #[test]
    fn shift_starting_in_the_gap_moves_forward() {
        // 02:00 does not exist on 2026-03-29 in Berlin: the shift starts at 03:00 CEST.
        let window = iv("2026-03-29T00:00:00Z", "2026-03-30T00:00:00Z");
        let working = hours(Sun, Sun, "02:00", "06:00").working(Berlin, window);
        assert_eq!(
            working,
            vec![iv("2026-03-29T01:00:00Z", "2026-03-29T04:00:00Z")]
        );
    }

    #[test]
    fn overnight_shift_across_fall_back_lasts_an_hour_longer() {
        let window = iv("2026-10-24T00:00:00Z", "2026-10-26T00:00:00Z");
        let working = hours(Sat, Sat, "22:00", "06:00").working(Berlin, window);
        // 22:00 CEST Saturday to 06:00 CET Sunday: 9 real hours.
        assert_eq!(
            working,
            vec![iv("2026-10-24T20:00:00Z", "2026-10-25T05:00:00Z")]
        );
    }

    #[test]
    fn cyclic_fri_to_mon() {
        let working = hours(Fri, Mon, "09:00", "18:00").working(Berlin, berlin_week());
        assert_eq!(
            working,
            vec![
                iv("2026-01-05T08:00:00Z", "2026-01-05T17:00:00Z"), // Mon
                iv("2026-01-09T08:00:00Z", "2026-01-09T17:00:00Z"), // Fri
                iv("2026-01-10T08:00:00Z", "2026-01-10T17:00:00Z"), // Sat
                iv("2026-01-11T08:00:00Z", "2026-01-11T17:00:00Z"), // Sun
            ]
        );
    }

    #[test]
    fn cyclic_sun_to_thu() {
        let working = hours(Sun, Thu, "09:00", "18:00").working(Berlin, berlin_week());
        let starts: Vec<_> = working.iter().map(|i| i.start).collect();
        assert_eq!(
            starts,
            vec![
                utc("2026-01-05T08:00:00Z"),
                utc("2026-01-06T08:00:00Z"),
                utc("2026-01-07T08:00:00Z"),
                utc("2026-01-08T08:00:00Z"),
                utc("2026-01-11T08:00:00Z"),
            ]
        );
    }

    #[test]
    fn overnight_shift_counts_for_the_day_it_starts() {
        let working = hours(Mon, Fri, "22:00", "06:00").working(Berlin, berlin_week());
        assert_eq!(
            working,
            vec![
                iv("2026-01-05T21:00:00Z", "2026-01-06T05:00:00Z"),
                iv("2026-01-06T21:00:00Z", "2026-01-07T05:00:00Z"),
                iv("2026-01-07T21:00:00Z", "2026-01-08T05:00:00Z"),
                iv("2026-01-08T21:00:00Z", "2026-01-09T05:00:00Z"),
                // Friday's shift ends Saturday 06:00; none starts on Saturday or Sunday.
                iv("2026-01-09T21:00:00Z", "2026-01-10T05:00:00Z"),
            ]
        );
    }

    #[test]
    fn single_day_overnight_shift() {
        let working = hours(Mon, Mon, "22:00", "06:00").working(Berlin, berlin_week());
        assert_eq!(
            working,
            vec![iv("2026-01-05T21:00:00Z", "2026-01-06T05:00:00Z")]
        );
    }

    #[test]
    fn overnight_shift_from_before_the_window() {
        // The window starts Tuesday 03:00 local, inside Monday's night shift.
        let window = iv("2026-01-06T02:00:00Z", "2026-01-07T00:00:00Z");
        let working = hours(Mon, Fri, "22:00", "06:00").working(Berlin, window);
        assert_eq!(
            working,
            vec![
                iv("2026-01-06T02:00:00Z", "2026-01-06T05:00:00Z"),
                iv("2026-01-06T21:00:00Z", "2026-01-07T00:00:00Z"),
            ]
        );
    }

    #[test]
    fn window_starting_mid_shift_is_clipped() {
        let window = iv("2026-01-05T12:00:00Z", "2026-01-06T12:00:00Z");
        let working = hours(Mon, Fri, "09:00", "18:00").working(Berlin, window);
        assert_eq!(
            working,
            vec![
                iv("2026-01-05T12:00:00Z", "2026-01-05T17:00:00Z"),
                iv("2026-01-06T08:00:00Z", "2026-01-06T12:00:00Z"),
            ]
        );
    }

    #[test]
    fn day_long_shifts_join_up() {
        // time_to == time_from: 24 hours, so Monday 08:00 runs unbroken to Saturday 08:00.
        let working = hours(Mon, Fri, "08:00", "08:00").working(Berlin, berlin_week());
        assert_eq!(
            working,
            vec![iv("2026-01-05T07:00:00Z", "2026-01-10T07:00:00Z")]
        );
    }

    #[test]
    fn empty_window_has_no_hours() {
        let h = hours(Mon, Sun, "00:00", "00:00");
        let at = utc("2026-01-05T12:00:00Z");
        assert_eq!(h.working(Berlin, Interval::new(at, at)), vec![]);
        assert_eq!(h.off_hours(Berlin, Interval::new(at, at)), vec![]);
    }

    #[test]
    fn three_zones_overlap_in_a_narrow_band() {
        // January: Tokyo UTC+9, Berlin UTC+1, New York UTC-5.
        // Tokyo    09:00-18:00 -> 00:00-09:00Z
        // Berlin   08:00-17:00 -> 07:00-16:00Z
        // New York 03:30-12:00 -> 08:30-17:00Z
        // Common: 08:30-09:00Z on each weekday (all three are on the same weekday then).
        let users = [
            (Tokyo, hours(Mon, Fri, "09:00", "18:00")),
            (Berlin, hours(Mon, Fri, "08:00", "17:00")),
            (New_York, hours(Mon, Fri, "03:30", "12:00")),
        ];
        let window = iv("2026-01-05T00:00:00Z", "2026-01-12T00:00:00Z");
        let off = merge(users.iter().flat_map(|(tz, h)| h.off_hours(*tz, window)));
        let common = complement(&off, window);
        let expected: Vec<Interval> = (5..=9)
            .map(|d| {
                iv(
                    &format!("2026-01-{d:02}T08:30:00Z"),
                    &format!("2026-01-{d:02}T09:00:00Z"),
                )
            })
            .collect();
        assert_eq!(common, expected);
    }
}
