//! Wall-clock time in an IANA zone turned into instants, with Calendula's DST rules.

use std::sync::OnceLock;

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, Offset,
    TimeZone, Utc,
};
use chrono_tz::Tz;

/// The last year chrono-tz tabulates transitions for. After it, chrono-tz keeps the last
/// offset forever: Berlin would stay on winter time all year from 2100 on. (A test below
/// fails when a chrono-tz upgrade moves this.) Zones whose rules follow a lunar calendar
/// (Casablanca, El Aaiun: tabulated only to 2087) cannot be projected this way; after 2099
/// they get the offsets of the proxy year's dates.
const LAST_TABULATED_YEAR: i32 = 2099;

/// The first year of the 28 years before the end of the table. Those 28 years have no
/// skipped leap day, so they hold every pairing of January 1st's weekday with leap or not.
const FIRST_PROXY_YEAR: i32 = LAST_TABULATED_YEAR - 27;

/// The instant at which the wall clock of `tz` shows `local`.
///
/// A wall time inside a spring-forward gap does not exist; it is moved forward by the gap's
/// length (02:30 in a 02:00→03:00 gap becomes 03:30). A wall time inside a fall-back
/// overlap happens twice; the earlier instant is taken.
pub fn to_instant(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match untabulated_shift(local.date()) {
        None => tabulated_instant(tz, local),
        Some(shift) => tabulated_instant(tz, local - shift) + shift,
    }
}

/// The wall time `tz` shows at `instant`.
pub fn to_local(tz: Tz, instant: DateTime<Utc>) -> NaiveDateTime {
    instant.naive_utc() + offset_at(tz, instant)
}

/// The UTC offset of `tz` at `instant`.
pub fn offset_at(tz: Tz, instant: DateTime<Utc>) -> FixedOffset {
    let tabulated = match untabulated_shift(instant.date_naive()) {
        None => instant,
        Some(shift) => instant - shift,
    };
    tz.offset_from_utc_datetime(&tabulated.naive_utc()).fix()
}

fn tabulated_instant(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, b) => a.min(b).with_timezone(&Utc),
        LocalResult::None => {
            // Reading the wall time with the offset in force before the gap lands exactly
            // `gap` later on the clock after the transition.
            let before = local.and_utc() - Duration::days(1);
            let offset = tz.offset_from_utc_datetime(&before.naive_utc()).fix();
            (local - offset).and_utc()
        }
    }
}

/// For a date past chrono-tz's table, how far it is from the same date in a tabulated year
/// with the same calendar (January 1st on the same weekday, leap or not). DST rules are
/// written in calendar terms ("last Sunday of March"), so that year's offsets are the ones
/// today's rules give the late year.
fn untabulated_shift(date: NaiveDate) -> Option<Duration> {
    let year = date.year();
    if year <= LAST_TABULATED_YEAR {
        return None;
    }
    let january_first = january_first(year);
    Some(january_first - proxy_january_first(january_first))
}

/// January 1st of the tabulated year whose calendar starts as `january_first`'s does.
fn proxy_january_first(january_first: NaiveDate) -> NaiveDate {
    /// By weekday of January 1st (from Monday) and leap or not: computed once, as
    /// expanding a series after 2099 asks for every occurrence.
    static PROXIES: OnceLock<[[NaiveDate; 2]; 7]> = OnceLock::new();
    let proxies = PROXIES.get_or_init(|| {
        let mut proxies = [[NaiveDate::MIN; 2]; 7];
        for candidate in (FIRST_PROXY_YEAR..=LAST_TABULATED_YEAR).map(self::january_first) {
            let (weekday, leap) = calendar_key(candidate);
            proxies[weekday][leap] = candidate;
        }
        proxies
    });
    let (weekday, leap) = calendar_key(january_first);
    proxies[weekday][leap]
}

fn calendar_key(january_first: NaiveDate) -> (usize, usize) {
    (
        january_first.weekday().num_days_from_monday() as usize,
        usize::from(january_first.leap_year()),
    )
}

fn january_first(year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, 1, 1).expect("a date's own year has a January 1st")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{America, Australia, Europe};

    fn naive(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    #[test]
    fn gap_moves_forward_by_its_length() {
        let t = to_instant(Europe::Berlin, naive(2026, 3, 29, 2, 30));
        assert_eq!(t.to_rfc3339(), "2026-03-29T01:30:00+00:00"); // 03:30 CEST
    }

    #[test]
    fn overlap_takes_the_earlier_instant() {
        let t = to_instant(Europe::Berlin, naive(2026, 10, 25, 2, 30));
        assert_eq!(t.to_rfc3339(), "2026-10-25T00:30:00+00:00"); // 02:30 CEST
    }

    #[test]
    fn southern_hemisphere_gap() {
        // Sydney springs forward 02:00 -> 03:00 on 2026-10-04.
        let t = to_instant(Australia::Sydney, naive(2026, 10, 4, 2, 15));
        assert_eq!(to_local(Australia::Sydney, t), naive(2026, 10, 4, 3, 15));
    }

    #[test]
    fn dst_goes_on_after_the_last_tabulated_year() {
        let summer = to_instant(Europe::Berlin, naive(2100, 7, 1, 9, 0));
        assert_eq!(summer.to_rfc3339(), "2100-07-01T07:00:00+00:00");
        let winter = to_instant(Europe::Berlin, naive(2100, 12, 1, 9, 0));
        assert_eq!(winter.to_rfc3339(), "2100-12-01T08:00:00+00:00");
        // Sydney is on summer time in January and on standard time in July.
        let january = to_instant(Australia::Sydney, naive(2345, 1, 15, 9, 0));
        assert_eq!(january.to_rfc3339(), "2345-01-14T22:00:00+00:00");
        let july = to_instant(Australia::Sydney, naive(2345, 7, 15, 9, 0));
        assert_eq!(july.to_rfc3339(), "2345-07-14T23:00:00+00:00");
    }

    #[test]
    fn transitions_after_the_table_fall_on_the_rules_days() {
        // 2100: second Sunday of March is the 14th, first Sunday of November the 7th.
        let ny = America::New_York;
        assert_eq!(
            to_instant(ny, naive(2100, 3, 14, 2, 30)),
            to_instant(ny, naive(2100, 3, 14, 3, 30)),
            "02:30 is in the gap"
        );
        for (local, hours) in [
            (naive(2100, 3, 13, 12, 0), -5),
            (naive(2100, 3, 14, 12, 0), -4),
            (naive(2100, 11, 7, 0, 30), -4),
            (naive(2100, 11, 7, 12, 0), -5),
        ] {
            let offset = offset_at(ny, to_instant(ny, local));
            assert_eq!(offset.local_minus_utc(), hours * 3600, "{local}");
        }
        // A leap day in a late leap year exists and round-trips.
        let leap_day = naive(2104, 2, 29, 9, 0);
        assert_eq!(to_local(ny, to_instant(ny, leap_day)), leap_day);
    }

    /// If this fails, chrono-tz's table no longer ends with LAST_TABULATED_YEAR: move it.
    #[test]
    fn chrono_tz_keeps_summer_time_until_the_last_tabulated_year_only() {
        let offset = |year: i32| {
            let noon = naive(year, 7, 1, 12, 0);
            Europe::Berlin
                .offset_from_utc_datetime(&noon)
                .fix()
                .local_minus_utc()
        };
        assert_eq!(offset(LAST_TABULATED_YEAR), 2 * 3600);
        assert_eq!(offset(LAST_TABULATED_YEAR + 1), 3600);
    }

    #[test]
    fn the_last_instant_chrono_can_hold_has_a_wall_time() {
        let last = DateTime::<Utc>::MAX_UTC;
        assert_eq!(to_local(Tz::UTC, last), last.naive_utc());
        assert!(to_local(Europe::Berlin, last - Duration::days(1)) > naive(262_000, 1, 1, 0, 0));
    }

    #[test]
    fn every_late_year_has_a_tabulated_year_with_its_calendar() {
        for year in (LAST_TABULATED_YEAR + 1)..(LAST_TABULATED_YEAR + 801) {
            let proxy = proxy_january_first(january_first(year));
            assert!(
                (FIRST_PROXY_YEAR..=LAST_TABULATED_YEAR).contains(&proxy.year()),
                "{year}: {proxy}"
            );
            assert_eq!(
                calendar_key(proxy),
                calendar_key(january_first(year)),
                "{year}"
            );
        }
    }

    #[test]
    fn wall_times_round_trip_across_the_end_of_the_table() {
        let mut local = naive(2099, 12, 30, 0, 0);
        while local < naive(2101, 1, 2, 0, 0) {
            for tz in [Europe::Berlin, Australia::Sydney, America::New_York] {
                let instant = to_instant(tz, local);
                assert!(
                    instant >= to_instant(tz, local - Duration::hours(1)),
                    "{tz} {local}"
                );
                let back = to_local(tz, instant);
                assert!(
                    back == local || back == local + Duration::hours(1),
                    "{tz} {local}: {back}"
                );
            }
            local += Duration::minutes(30);
        }
    }
}
