//! Wall-clock time in an IANA zone turned into instants, with Calendula's DST rules.

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

/// The instant at which the wall clock of `tz` shows `local`.
///
/// A wall time inside a spring-forward gap does not exist; it is moved forward by the gap's
/// length (02:30 in a 02:00→03:00 gap becomes 03:30). A wall time inside a fall-back
/// overlap happens twice; the earlier instant is taken.
pub fn to_instant(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
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

/// The wall time `tz` shows at `instant`.
pub fn to_local(tz: Tz, instant: DateTime<Utc>) -> NaiveDateTime {
    instant.with_timezone(&tz).naive_local()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn naive(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    #[test]
    fn gap_moves_forward_by_its_length() {
        let t = to_instant(chrono_tz::Europe::Berlin, naive(2026, 3, 29, 2, 30));
        assert_eq!(t.to_rfc3339(), "2026-03-29T01:30:00+00:00"); // 03:30 CEST
    }

    #[test]
    fn overlap_takes_the_earlier_instant() {
        let t = to_instant(chrono_tz::Europe::Berlin, naive(2026, 10, 25, 2, 30));
        assert_eq!(t.to_rfc3339(), "2026-10-25T00:30:00+00:00"); // 02:30 CEST
    }

    #[test]
    fn southern_hemisphere_gap() {
        // Sydney springs forward 02:00 -> 03:00 on 2026-10-04.
        let t = to_instant(chrono_tz::Australia::Sydney, naive(2026, 10, 4, 2, 15));
        assert_eq!(
            to_local(chrono_tz::Australia::Sydney, t),
            naive(2026, 10, 4, 3, 15)
        );
    }
}
