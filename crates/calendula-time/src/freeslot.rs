//! The earliest common free slots of a group of users (`POST /funcs/calc_free_slot`).

use chrono::{DateTime, Duration, Utc};

use crate::intervals::{complement, Interval};

/// Up to `limit` non-overlapping slots [t, t+duration) with from <= t and t+duration <= until,
/// free of every interval in `busy` (busy = all users' busy and off-hours intervals, merged),
/// earliest first: the first is the earliest possible t; each next one is the earliest t >= previous end.
///
/// Walks the free gaps between the busy intervals once and packs slots into each gap
/// back to back, so the cost is O(busy + limit) however long the search range is.
/// A non-positive `duration`, a zero `limit` or an empty range give no slots.
/// `busy` must be sorted by start (as [`crate::intervals::merge`] leaves it).
pub fn free_slots(
    busy: &[Interval],
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    duration: Duration,
    limit: usize,
) -> Vec<Interval> {
    if duration <= Duration::zero() || limit == 0 || from >= until {
        return Vec::new();
    }
    complement(busy, Interval::new(from, until))
        .into_iter()
        .flat_map(|gap| slots_in(gap, duration))
        .take(limit)
        .collect()
}

/// Consecutive slots of `duration` from the start of `gap` for as long as they fit.
/// `duration` must be positive, or this never ends.
fn slots_in(gap: Interval, duration: Duration) -> impl Iterator<Item = Interval> {
    let fits = move |start: DateTime<Utc>| {
        start
            .checked_add_signed(duration)
            .filter(|end| *end <= gap.end)
            .map(|end| Interval::new(start, end))
    };
    std::iter::successors(fits(gap.start), move |prev| fits(prev.end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intervals::merge;
    use crate::intervals::tests::m;

    fn minutes(n: i64) -> Duration {
        Duration::minutes(n)
    }

    fn at(minute: i64) -> DateTime<Utc> {
        m(minute, minute).start
    }

    /// Busy 0-60 and 90-180, searching 0-600: the gap between is exactly 30 minutes.
    fn two_meetings() -> Vec<Interval> {
        vec![m(0, 60), m(90, 180)]
    }

    #[test]
    fn gap_of_exactly_the_duration_fits() {
        let slots = free_slots(&two_meetings(), at(0), at(600), minutes(30), 1);
        assert_eq!(slots, vec![m(60, 90)]);
    }

    #[test]
    fn gap_one_minute_too_short_is_skipped() {
        let slots = free_slots(&two_meetings(), at(0), at(600), minutes(31), 1);
        assert_eq!(slots, vec![m(180, 211)]);
    }

    #[test]
    fn slot_at_from_itself() {
        let slots = free_slots(&[m(100, 200)], at(10), at(600), minutes(60), 1);
        assert_eq!(slots, vec![m(10, 70)]);
    }

    #[test]
    fn from_inside_busy_waits_for_its_end() {
        let slots = free_slots(&[m(0, 100)], at(50), at(600), minutes(60), 1);
        assert_eq!(slots, vec![m(100, 160)]);
    }

    #[test]
    fn slot_may_end_exactly_at_until() {
        let slots = free_slots(&[m(0, 540)], at(0), at(600), minutes(60), 1);
        assert_eq!(slots, vec![m(540, 600)]);
    }

    #[test]
    fn nothing_free_before_until() {
        let slots = free_slots(&[m(0, 550)], at(0), at(600), minutes(60), 1);
        assert_eq!(slots, vec![]);
        let slots = free_slots(&[m(-10, 700)], at(0), at(600), minutes(1), 5);
        assert_eq!(slots, vec![]);
    }

    #[test]
    fn limit_three_gives_three_earliest_non_overlapping() {
        let busy = merge([m(45, 60), m(120, 130)]);
        let slots = free_slots(&busy, at(0), at(600), minutes(40), 3);
        // 0-40 fits; 40-80 hits 45; next gap starts at 60: 60-100, then 100-140 hits 120.
        assert_eq!(slots, vec![m(0, 40), m(60, 100), m(130, 170)]);
    }

    #[test]
    fn limit_larger_than_available() {
        let slots = free_slots(&[m(0, 500)], at(0), at(600), minutes(40), 10);
        assert_eq!(slots, vec![m(500, 540), m(540, 580)]);
    }

    #[test]
    fn degenerate_arguments_give_nothing() {
        assert_eq!(free_slots(&[], at(0), at(600), minutes(0), 1), vec![]);
        assert_eq!(free_slots(&[], at(0), at(600), minutes(-5), 1), vec![]);
        assert_eq!(free_slots(&[], at(0), at(600), minutes(5), 0), vec![]);
        assert_eq!(free_slots(&[], at(600), at(0), minutes(5), 1), vec![]);
        assert_eq!(free_slots(&[], at(0), at(0), minutes(5), 1), vec![]);
    }

    #[test]
    fn small_limit_on_a_year_long_range() {
        let slots = free_slots(&[], at(0), at(0) + Duration::days(365), minutes(1), 3);
        assert_eq!(slots, vec![m(0, 1), m(1, 2), m(2, 3)]);
    }

    #[test]
    fn no_overflow_at_the_end_of_time() {
        let end = DateTime::<Utc>::MAX_UTC;
        let slots = free_slots(&[], end - minutes(10), end, minutes(60), 1);
        assert_eq!(slots, vec![]);
    }

    /// Free slots checked against a minute-by-minute oracle that knows nothing of
    /// `merge`, `complement` or `WorkHours::working`.
    mod oracle {
        use super::*;
        use crate::intervals::{complement, merge};
        use crate::localtime::{to_instant, to_local};
        use crate::workhours::WorkHours;
        use chrono::{Datelike, Days, NaiveDate, NaiveTime, TimeZone, Weekday};
        use chrono_tz::Tz;
        use proptest::prelude::*;

        const ZONES: [Tz; 5] = [
            chrono_tz::Europe::Berlin,
            chrono_tz::America::New_York,
            chrono_tz::Asia::Tokyo,
            chrono_tz::Australia::Sydney,
            chrono_tz::UTC,
        ];

        /// Search starts near DST changes: NY spring (Mar 8), Berlin spring (Mar 29),
        /// Sydney autumn (Apr 5) and spring (Oct 4), Berlin autumn (Oct 25), NY autumn (Nov 1).
        const BASES: [(u32, u32); 5] = [(3, 1), (3, 22), (3, 30), (9, 28), (10, 20)];

        #[derive(Debug, Clone)]
        struct User {
            tz: Tz,
            hours: Option<WorkHours>,
            /// (start, length) in minutes relative to `from`.
            busy: Vec<(i64, i64)>,
        }

        #[derive(Debug, Clone)]
        struct Case {
            from: DateTime<Utc>,
            window_minutes: i64,
            users: Vec<User>,
            duration: i64,
            limit: usize,
        }

        fn weekday() -> impl Strategy<Value = Weekday> {
            (0u8..7).prop_map(|d| Weekday::try_from(d).unwrap())
        }

        /// Any minute of the day, with DST-gap and day-boundary times made likely.
        fn time() -> impl Strategy<Value = NaiveTime> {
            let minute = prop_oneof![
                0u32..1440,
                prop::sample::select(vec![0, 120, 150, 180, 540, 1080, 1320]),
            ];
            minute.prop_map(|m| NaiveTime::from_hms_opt(m / 60, m % 60, 0).unwrap())
        }

        /// Day, overnight and (one time in five) 24-hour shifts over cyclic day ranges.
        fn work_hours() -> impl Strategy<Value = WorkHours> {
            (weekday(), weekday(), time()).prop_flat_map(|(day_from, day_to, time_from)| {
                prop_oneof![4 => time(), 1 => Just(time_from)].prop_map(move |time_to| WorkHours {
                    day_from,
                    day_to,
                    time_from,
                    time_to,
                })
            })
        }

        fn user(window_minutes: i64) -> impl Strategy<Value = User> {
            let busy = (-1440..window_minutes + 1440, 1i64..720);
            (
                prop::sample::select(ZONES.to_vec()),
                prop::option::weighted(0.8, work_hours()),
                prop::collection::vec(busy, 0..12),
            )
                .prop_map(|(tz, hours, busy)| User { tz, hours, busy })
        }

        fn case() -> impl Strategy<Value = Case> {
            let from = (prop::sample::select(BASES.to_vec()), 0i64..2880).prop_map(
                |((month, day), offset)| {
                    Utc.with_ymd_and_hms(2026, month, day, 0, 0, 0).unwrap()
                        + Duration::minutes(offset)
                },
            );
            (from, 14i64..=21).prop_flat_map(|(from, days)| {
                let window_minutes = days * 1440;
                (
                    prop::collection::vec(user(window_minutes), 1..=4),
                    1i64..=240,
                    1usize..=3,
                )
                    .prop_map(move |(users, duration, limit)| Case {
                        from,
                        window_minutes,
                        users,
                        duration,
                        limit,
                    })
            })
        }

        /// The weekdays of a cyclic range, listed by walking forward from `from`.
        fn days_in_range(from: Weekday, to: Weekday) -> Vec<Weekday> {
            let mut days = vec![from];
            while *days.last().unwrap() != to {
                days.push(days.last().unwrap().succ());
            }
            days
        }

        /// Whether a shift starting on local `date` covers instant `t`, straight from the
        /// definition: wall times `time_from` on `date` to `time_to` on the same or the
        /// next date, read as instants.
        fn shift_covers(h: &WorkHours, tz: Tz, date: NaiveDate, t: DateTime<Utc>) -> bool {
            if !days_in_range(h.day_from, h.day_to).contains(&date.weekday()) {
                return false;
            }
            let overnight = h.time_to <= h.time_from;
            let end_date = date + Days::new(u64::from(overnight));
            let start = to_instant(tz, date.and_time(h.time_from));
            let end = to_instant(tz, end_date.and_time(h.time_to));
            start <= t && t < end
        }

        /// Working at `t`: inside a shift that started on today's or yesterday's local date.
        fn is_working(h: &WorkHours, tz: Tz, t: DateTime<Utc>) -> bool {
            let today = to_local(tz, t).date();
            let yesterday = today.pred_opt().unwrap();
            shift_covers(h, tz, today, t) || shift_covers(h, tz, yesterday, t)
        }

        fn is_free(user: &User, minute: i64, t: DateTime<Utc>) -> bool {
            let in_meeting = user
                .busy
                .iter()
                .any(|&(start, len)| start <= minute && minute < start + len);
            let off_duty = user.hours.is_some_and(|h| !is_working(&h, user.tz, t));
            !in_meeting && !off_duty
        }

        /// For each minute of the window, whether everybody is free during it.
        fn free_minutes(case: &Case) -> Vec<bool> {
            (0..case.window_minutes)
                .map(|i| {
                    let t = case.from + Duration::minutes(i);
                    case.users.iter().all(|u| is_free(u, i, t))
                })
                .collect()
        }

        /// The earliest start `>= after` of `duration` free minutes, brute force.
        fn earliest(free: &[bool], after: usize, duration: usize) -> Option<usize> {
            (after..free.len())
                .take_while(|t| t + duration <= free.len())
                .find(|&t| free[t..t + duration].iter().all(|f| *f))
        }

        fn oracle_slots(case: &Case, free: &[bool]) -> Vec<(usize, usize)> {
            let d = case.duration as usize;
            let mut slots = Vec::new();
            let mut after = 0;
            while slots.len() < case.limit {
                let Some(t) = earliest(free, after, d) else {
                    break;
                };
                slots.push((t, t + d));
                after = t + d;
            }
            slots
        }

        fn window(case: &Case) -> Interval {
            Interval::new(
                case.from,
                case.from + Duration::minutes(case.window_minutes),
            )
        }

        /// Everybody's meetings and off-hours, as the HTTP layer builds them.
        fn all_busy(case: &Case) -> Vec<Interval> {
            let window = window(case);
            let minute = |n: i64| case.from + Duration::minutes(n);
            merge(case.users.iter().flat_map(|u| {
                let meetings = u
                    .busy
                    .iter()
                    .map(move |&(s, len)| Interval::new(minute(s), minute(s + len)));
                let off = u.hours.map(|h| h.off_hours(u.tz, window));
                meetings.chain(off.into_iter().flatten())
            }))
        }

        fn minute_of(case: &Case, t: DateTime<Utc>) -> usize {
            (t - case.from).num_minutes() as usize
        }

        /// The free minutes `complement(all_busy)` claims, as the oracle's bitmap.
        fn claimed_free_minutes(case: &Case, busy: &[Interval]) -> Vec<bool> {
            let mut free = vec![false; case.window_minutes as usize];
            for gap in complement(busy, window(case)) {
                free[minute_of(case, gap.start)..minute_of(case, gap.end)].fill(true);
            }
            free
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(48))]

            #[test]
            fn matches_minute_by_minute_oracle(case in case()) {
                let free = free_minutes(&case);
                let busy = all_busy(&case);
                let window = window(&case);
                let duration = Duration::minutes(case.duration);
                let got = free_slots(&busy, window.start, window.end, duration, case.limit);
                let got: Vec<(usize, usize)> = got
                    .iter()
                    .map(|i| (minute_of(&case, i.start), minute_of(&case, i.end)))
                    .collect();
                for &(start, end) in &got {
                    prop_assert!(free[start..end].iter().all(|f| *f), "slot {start}..{end} not free");
                }
                prop_assert_eq!(got, oracle_slots(&case, &free));
                // Stronger than the slots alone: the whole free set must agree.
                prop_assert!(claimed_free_minutes(&case, &busy) == free, "free minutes differ");
            }
        }
    }
}
