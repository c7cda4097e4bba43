//! The earliest common free slots of a group of users (`POST /funcs/calc_free_slot`).

use chrono::{DateTime, Duration, Utc};

use crate::intervals::{complement, complement_into, merge, Interval};

/// Up to `limit` non-overlapping slots [t, t+duration) with from <= t and t+duration <= until,
/// free of every interval in `busy` (busy = all users' busy and off-hours intervals, merged),
/// earliest first: the first is the earliest possible t; each next one is the earliest t >= previous end.
///
/// Walks the gaps between the busy intervals once and packs slots into each gap back to
/// back, so the cost does not grow with the length of the search range.
/// A non-positive `duration`, a zero `limit` or an empty range give no slots.
/// `busy` must be sorted by start (as [`crate::intervals::merge`] leaves it).
pub fn free_slots(
    busy: &[Interval],
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    duration: Duration,
    limit: usize,
) -> Vec<Interval> {
    FreeGaps::new(busy, Interval::new(from, until), duration).slots(limit)
}

/// The stretches of a search range where a slot of `duration` still fits, narrowed as busy
/// intervals are taken out, in any order.
///
/// Busy intervals are taken out in batches: each batch is merged and swept against the
/// gaps in one pass, so a search costs about what merging all its busy intervals would;
/// but it can stop once no gap is left, and with many calendars there is often no common
/// slot at all: the last gap closes long before the last occurrence.
#[derive(Debug, Clone)]
pub struct FreeGaps {
    /// Sorted, disjoint, each at least `duration` long (as of the last batch).
    gaps: Vec<Interval>,
    /// Taken out but not yet swept against `gaps`.
    pending: Vec<Interval>,
    duration: Duration,
}

/// The fewest busy intervals swept against the gaps at once. A batch is also at least as
/// long as the list of gaps, so that a sweep (linear in both) costs O(1) per interval
/// however fragmented the gaps: few gaps (working hours) mean small batches, and the
/// search notices soon that none is left.
const MIN_BATCH: usize = 64;

impl FreeGaps {
    /// The gaps of `busy` (merged, as [`crate::intervals::merge`] leaves it) within `range`.
    /// A non-positive `duration` leaves no gaps.
    pub fn new(busy: &[Interval], range: Interval, duration: Duration) -> Self {
        let mut free = FreeGaps {
            gaps: complement(busy, range),
            pending: Vec::new(),
            duration,
        };
        free.drop_short_gaps();
        free
    }

    /// No slot of `duration` is left.
    pub fn is_empty(&mut self) -> bool {
        self.sweep();
        self.gaps.is_empty()
    }

    /// From the start of the first gap to the end of the last, as of the last batch: busy
    /// time outside it no longer matters. `None` once no gap is left.
    pub fn bounds(&self) -> Option<Interval> {
        let first = self.gaps.first()?;
        let last = self.gaps.last()?;
        Some(Interval::new(first.start, last.end))
    }

    /// The gaps, sorted and disjoint, as of the last batch.
    pub fn gaps(&self) -> &[Interval] {
        &self.gaps
    }

    /// Takes `busy` out of the gaps.
    pub fn remove(&mut self, busy: Interval) {
        self.pending.push(busy);
        if self.pending.len() >= self.gaps.len().max(MIN_BATCH) {
            self.sweep();
        }
    }

    /// Up to `limit` earliest non-overlapping slots: from the start of each gap, back to back
    /// while they fit.
    pub fn slots(&mut self, limit: usize) -> Vec<Interval> {
        self.sweep();
        let duration = self.duration;
        self.gaps
            .iter()
            .flat_map(|gap| slots_in(*gap, duration))
            .take(limit)
            .collect()
    }

    /// Takes the pending busy intervals out of the gaps; what is left of a gap stays if a
    /// slot still fits.
    fn sweep(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let busy = merge(self.pending.drain(..));
        let mut open = Vec::with_capacity(self.gaps.len());
        let mut next = 0;
        for gap in &self.gaps {
            // `busy` is sorted and disjoint: what ends by this gap's start is behind us.
            next += busy[next..]
                .iter()
                .take_while(|b| b.end <= gap.start)
                .count();
            complement_into(&busy[next..], *gap, &mut open);
        }
        self.gaps = open;
        self.drop_short_gaps();
    }

    /// Keeps the gaps a slot fits in; with a non-positive `duration` (no slot at all), none.
    fn drop_short_gaps(&mut self) {
        let duration = self.duration;
        self.gaps
            .retain(|gap| duration > Duration::zero() && gap.duration() >= duration);
    }
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

    #[test]
    fn free_gaps_start_from_the_gaps_of_the_busy_time() {
        let mut free = FreeGaps::new(&two_meetings(), m(0, 600), minutes(30));
        assert_eq!(free.slots(3), vec![m(60, 90), m(180, 210), m(210, 240)]);
        assert_eq!(free.bounds(), Some(m(60, 600)));
        let mut too_long = FreeGaps::new(&two_meetings(), m(0, 600), minutes(500));
        assert!(too_long.is_empty());
        assert_eq!(too_long.bounds(), None);
    }

    #[test]
    fn removing_splits_trims_and_drops_gaps() {
        let mut free = FreeGaps::new(&[], m(0, 600), minutes(30));
        free.remove(m(100, 110)); // splits 0-600
        free.remove(m(-50, 20)); // trims the start
        free.remove(m(120, 140)); // leaves 110-120, too short
        free.remove(m(580, 700)); // trims the end
        free.remove(m(300, 300)); // empty: nothing
        assert_eq!(free.slots(10).first(), Some(&m(20, 50)));
        assert_eq!(free.bounds(), Some(m(20, 580)));
        free.remove(m(30, 400)); // spans 20-100 (left 20-30 too short) and 140-580
        assert_eq!(
            free.slots(10),
            vec![
                m(400, 430),
                m(430, 460),
                m(460, 490),
                m(490, 520),
                m(520, 550),
                m(550, 580)
            ]
        );
        free.remove(m(0, 1000));
        assert!(free.is_empty());
        free.remove(m(0, 1000));
        assert!(free.is_empty());
    }

    /// `off` (merged) as the starting busy time, then `busy` taken out one by one: the slots
    /// must be those of merging everything first, and `bounds` must cover every slot.
    fn check_against_merging(
        off: &[(i64, i64)],
        busy: &[(i64, i64)],
        range: Interval,
        duration: i64,
        limit: usize,
    ) -> Result<(), proptest::test_runner::TestCaseError> {
        let to_intervals = |list: &[(i64, i64)]| -> Vec<Interval> {
            list.iter().map(|&(s, len)| m(s, s + len)).collect()
        };
        let (off, busy) = (merge(to_intervals(off)), to_intervals(busy));
        let duration = minutes(duration);
        let mut free = FreeGaps::new(&off, range, duration);
        for b in &busy {
            free.remove(*b);
        }
        let bounds = free.bounds();
        let everything = merge(off.iter().chain(&busy).copied());
        let expected = free_slots(&everything, range.start, range.end, duration, limit);
        let got = free.slots(limit);
        for slot in &got {
            let covered = bounds.is_some_and(|b| b.start <= slot.start && slot.end <= b.end);
            proptest::prop_assert!(covered, "{slot:?} outside {bounds:?}");
        }
        proptest::prop_assert_eq!(got, expected);
        Ok(())
    }

    proptest::proptest! {
        /// Taking busy intervals out one by one, in any order, leaves the slots that
        /// merging them all first gives.
        #[test]
        fn free_gaps_agree_with_merging_everything(
            off in proptest::collection::vec((0i64..2000, 1i64..300), 0..20),
            busy in proptest::collection::vec((-100i64..2100, 0i64..200), 0..60),
            duration in 1i64..120,
            limit in 1usize..6,
        ) {
            check_against_merging(&off, &busy, m(0, 2000), duration, limit)?;
        }

        /// The same over several batches of busy intervals, with many gaps left open.
        #[test]
        fn free_gaps_agree_across_batches(
            off in proptest::collection::vec((0i64..100_000, 1i64..600), 0..50),
            busy in proptest::collection::vec((-100i64..100_100, 0i64..60), 3000..9000),
            duration in 1i64..60,
            limit in 1usize..20,
        ) {
            check_against_merging(&off, &busy, m(0, 100_000), duration, limit)?;
        }
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
