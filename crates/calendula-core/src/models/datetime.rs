//! Datetimes as the API reads and writes them: RFC 3339 with or without an offset on input
//! (without one, it is wall time in a zone the context decides), always with one on output.

use std::borrow::Cow;
use std::fmt;

use calendula_time::localtime;
use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDateTime, SecondsFormat, TimeDelta, Timelike, Utc,
};
use chrono_tz::Tz;
use schemars::gen::SchemaGenerator;
use schemars::schema::{InstanceType, Schema, SchemaObject};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serializer};

use crate::{ApiError, ApiResult};

/// An input datetime: an instant, or a wall time to be read in some zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputDateTime {
    Instant(DateTime<FixedOffset>),
    Naive(NaiveDateTime),
}

/// Years a datetime may have: RFC 3339 writes four digits, and the arithmetic on them
/// (zones, horizons) then stays far from chrono's and PostgreSQL's limits.
const YEARS: std::ops::RangeInclusive<i32> = 1..=9999;

impl InputDateTime {
    /// RFC 3339 (`T` or `t`, `Z` or `z`), also with a space for the `T`, without seconds,
    /// or without the offset (a wall time). Every field has its fixed number of digits.
    pub fn parse(text: &str) -> Result<Self, String> {
        let parsed = canonical(text).and_then(|(canonical, has_offset)| {
            if has_offset {
                DateTime::parse_from_rfc3339(&canonical)
                    .ok()
                    .map(Self::Instant)
            } else {
                NaiveDateTime::parse_from_str(&canonical, "%Y-%m-%dT%H:%M:%S%.f")
                    .ok()
                    .map(Self::Naive)
            }
        });
        let parsed = parsed.ok_or_else(|| {
            format!("invalid datetime {text:?}, expected RFC 3339 like 2026-03-01T09:00:00+01:00 (or without the offset for local time)")
        })?;
        if !YEARS.contains(&parsed.year()) {
            return Err(format!(
                "datetime {text:?} is out of range: years 1..9999 only"
            ));
        }
        Ok(parsed)
    }

    fn year(self) -> i32 {
        match self {
            Self::Instant(t) => t.year(),
            Self::Naive(t) => t.year(),
        }
    }

    /// The wall time in `tz`: as written, or the one `tz` shows at the instant. Unlike
    /// `resolve`, it keeps a wall time that falls in a DST gap.
    pub fn wall_time(self, tz: Tz) -> NaiveDateTime {
        match self {
            Self::Instant(instant) => localtime::to_local(tz, instant.with_timezone(&Utc)),
            Self::Naive(wall) => wall,
        }
    }

    /// The instant, reading a wall time in `tz`; a 422 naming `field` when it is outside
    /// the years an answer can write (an offset can carry 9999-12-31 into year 10000).
    pub fn resolve(self, tz: Tz, field: &str) -> ApiResult<DateTime<Utc>> {
        let instant = without_leap_second(match self {
            Self::Instant(instant) => instant.with_timezone(&Utc),
            Self::Naive(wall) => localtime::to_instant(tz, wall),
        });
        if YEARS.contains(&instant.year()) {
            Ok(instant)
        } else {
            Err(ApiError::invalid(
                field,
                format!("{self} is out of range: years 1..9999 only, in UTC too"),
            ))
        }
    }
}

/// `text` written the one way chrono's parsers read (`T`, `Z`, seconds), and whether it
/// has an offset; `None` when it is not of the shape [`InputDateTime::parse`] takes. The
/// shape is checked here because chrono's parsers also take `+2026-4-1T1:00`.
fn canonical(text: &str) -> Option<(String, bool)> {
    // ASCII only, so that every slice below falls on a character boundary.
    if !text.is_ascii() {
        return None;
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let fixed = |s: &str, n: usize| s.len() == n && digits(s);
    let (date, rest) = (text.get(..10)?, text.get(11..)?);
    let separator = text.as_bytes()[10];
    let date_ok = fixed(&date[..4], 4)
        && &date[4..5] == "-"
        && fixed(&date[5..7], 2)
        && &date[7..8] == "-"
        && fixed(&date[8..], 2);
    if !date_ok || !matches!(separator, b'T' | b't' | b' ') {
        return None;
    }
    let (time, offset) = match rest.find(['Z', 'z', '+', '-']) {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    let offset_ok = match offset.as_bytes() {
        [] | [b'Z' | b'z'] => true,
        [b'+' | b'-', ..] => {
            fixed(&offset[1..3.min(offset.len())], 2)
                && offset.get(3..4) == Some(":")
                && offset.get(4..).is_some_and(|m| fixed(m, 2))
        }
        _ => false,
    };
    let (clock, fraction) = match time.split_once('.') {
        Some((clock, fraction)) => (clock, Some(fraction)),
        None => (time, None),
    };
    let parts: Vec<&str> = clock.split(':').collect();
    let clock_ok = matches!(parts.len(), 2 | 3) && parts.iter().all(|p| fixed(p, 2));
    let fraction_ok = fraction.is_none_or(|f| digits(f) && parts.len() == 3);
    if !(offset_ok && clock_ok && fraction_ok) {
        return None;
    }
    let seconds = if parts.len() == 2 { ":00" } else { "" };
    let fraction = fraction.map(|f| format!(".{f}")).unwrap_or_default();
    let offset = offset.to_ascii_uppercase();
    let canonical = format!("{date}T{clock}{seconds}{fraction}{offset}");
    Some((canonical, !offset.is_empty()))
}

/// `23:59:60` as the first instant of the next minute, as PostgreSQL stores it: chrono
/// keeps a leap second (and writes it back as `:60`, which many clients cannot read).
fn without_leap_second(instant: DateTime<Utc>) -> DateTime<Utc> {
    const SECOND_NS: u32 = 1_000_000_000;
    let nanos = instant.nanosecond();
    if nanos < SECOND_NS {
        return instant;
    }
    instant
        .with_nanosecond(nanos - SECOND_NS)
        .map_or(instant, |within| within + TimeDelta::seconds(1))
}

impl fmt::Display for InputDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Instant(t) => write!(f, "{}", t.to_rfc3339()),
            Self::Naive(t) => write!(f, "{}", t.format("%Y-%m-%dT%H:%M:%S")),
        }
    }
}

impl<'de> Deserialize<'de> for InputDateTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for InputDateTime {
    fn schema_name() -> String {
        "InputDateTime".into()
    }

    fn schema_id() -> Cow<'static, str> {
        Cow::Borrowed("calendula::InputDateTime")
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let mut schema = SchemaObject {
            instance_type: Some(InstanceType::String.into()),
            ..Default::default()
        };
        schema.metadata().description =
            Some("RFC 3339 datetime; without an offset it is wall time in the event's (or user's) time zone.".into());
        schema.metadata().examples = vec![
            "2026-03-02T09:00:00+01:00".into(),
            "2026-03-02T09:00:00".into(),
        ];
        schema.into()
    }
}

/// RFC 3339 has four-digit years: no answer may end after the last instant of year 9999
/// (UTC), which input may still name (`9999-12-31T23:59:59.5Z`).
pub fn last_writable_instant() -> DateTime<Utc> {
    chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_nano_opt(23, 59, 59, 999_999_999))
        .map_or(DateTime::<Utc>::MAX_UTC, |t| t.and_utc())
}

/// `time` as chrono's own `Serialize` writes it: RFC 3339, `Z` for UTC, fractions of a
/// second only when there are any.
pub fn format_time(time: &DateTime<FixedOffset>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Serializes [`format_time`]'s text. Formatted into one string first: chrono hands
/// serde_json a `Display`, which it then escapes a character at a time, a sixth of the
/// CPU time of a large listing.
pub fn serialize_time<S: Serializer>(
    time: &DateTime<FixedOffset>,
    out: S,
) -> Result<S::Ok, S::Error> {
    out.serialize_str(&format_time(time))
}

/// [`serialize_time`] for an optional time (`null` when absent).
pub fn serialize_optional_time<S: Serializer>(
    time: &Option<DateTime<FixedOffset>>,
    out: S,
) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => serialize_time(time, out),
        None => out.serialize_none(),
    }
}

/// An instant as the API writes it: with the offset `tz` has at that instant. RFC 3339
/// offsets have no seconds, so historical offsets like -00:44:30 are written as UTC rather
/// than rounded to a different instant, and so are instants whose local year RFC 3339
/// cannot write (9999-12-31T20:00Z is already year 10000 at +14:00).
pub fn output_time(instant: DateTime<Utc>, tz: Tz) -> DateTime<FixedOffset> {
    let local = instant.with_timezone(&localtime::offset_at(tz, instant));
    if local.offset().local_minus_utc() % 60 == 0 && YEARS.contains(&local.year()) {
        local
    } else {
        instant.fixed_offset()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leap_second_is_read_as_the_next_minute() {
        let resolved = |text: &str, tz: Tz| {
            InputDateTime::parse(text)
                .unwrap()
                .resolve(tz, "t")
                .unwrap()
                .to_rfc3339()
        };
        assert_eq!(
            resolved("2026-06-30T23:59:60Z", Tz::UTC),
            "2026-07-01T00:00:00+00:00"
        );
        assert_eq!(
            resolved("2026-07-01T09:00:60.250+02:00", Tz::UTC),
            "2026-07-01T07:01:00.250+00:00"
        );
        assert_eq!(
            resolved("2026-07-01T09:00:60", chrono_tz::Europe::Berlin),
            "2026-07-01T07:01:00+00:00"
        );
        assert_eq!(
            resolved("2026-07-01T09:00:59.5Z", Tz::UTC),
            "2026-07-01T09:00:59.500+00:00"
        );
    }

    /// Times are written exactly as chrono's own `Serialize` writes them: offsets, `Z` for
    /// UTC, fractions of a second only when present, years at both ends of the range.
    #[test]
    fn serialize_time_writes_what_chrono_writes() {
        #[derive(serde::Serialize)]
        struct Ours(#[serde(serialize_with = "serialize_time")] DateTime<FixedOffset>);
        #[derive(serde::Serialize)]
        struct OursOptional(
            #[serde(serialize_with = "serialize_optional_time")] Option<DateTime<FixedOffset>>,
        );
        for text in [
            "2026-07-01T09:00:00Z",
            "2026-07-01T09:00:00+02:00",
            "2026-07-01T09:00:00-09:30",
            "2026-07-01T09:00:00.5+05:45",
            "2026-07-01T09:00:00.123456789+14:00",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59-12:00",
        ] {
            let time = DateTime::parse_from_rfc3339(text).unwrap();
            let chrono = serde_json::to_string(&time).unwrap();
            assert_eq!(
                serde_json::to_string(&Ours(time)).unwrap(),
                chrono,
                "{text}"
            );
            let optional = serde_json::to_string(&OursOptional(Some(time))).unwrap();
            assert_eq!(optional, chrono, "{text}");
        }
        assert_eq!(serde_json::to_string(&OursOptional(None)).unwrap(), "null");
    }

    #[test]
    fn naive_input_is_wall_time_in_the_zone() {
        let t = InputDateTime::parse("2026-07-01T09:00:00").unwrap();
        assert_eq!(
            t.resolve(chrono_tz::Europe::Berlin, "t")
                .unwrap()
                .to_rfc3339(),
            "2026-07-01T07:00:00+00:00"
        );
        let t = InputDateTime::parse("2026-07-01 09:00").unwrap();
        assert_eq!(
            t.resolve(chrono_tz::UTC, "t").unwrap().to_rfc3339(),
            "2026-07-01T09:00:00+00:00"
        );
    }

    #[test]
    fn offset_input_is_an_instant() {
        let t = InputDateTime::parse("2026-07-01T09:00:00-04:00").unwrap();
        assert_eq!(
            t.resolve(chrono_tz::Europe::Berlin, "t")
                .unwrap()
                .to_rfc3339(),
            "2026-07-01T13:00:00+00:00"
        );
        let t = InputDateTime::parse("2026-07-01T09:00:00Z").unwrap();
        assert_eq!(
            t.resolve(chrono_tz::Asia::Tokyo, "t").unwrap().to_rfc3339(),
            "2026-07-01T09:00:00+00:00"
        );
    }

    #[test]
    fn garbage_is_rejected() {
        for text in [
            "",
            "yesterday",
            "2026-13-01T00:00:00",
            "2026-02-30T10:00:00",
            "1700000000",
            "+262142-06-01T00:00",
            "-5000-01-01T00:00",
            "0000-01-01T00:00:00Z",
            "+2026-04-01T10:00",
            "+002026-04-01T10:00",
            "2026-4-1T10:00",
            "2026-04-01T1:00",
            "2026-04-01T10:00:0",
            "2026-04-01T10:00:00+1:00",
            "2026-04-01T10:00:00+0100",
            "2026-04-01T10:00:00+01",
            "2026-04-01T10:00:00.Z",
            "2026-04-01T10:00.5",
            "2026-04-01X10:00",
            "2026-04-01T10:00:00ZZ",
            "2026-04-01T10:00:00+01:00:00",
            "2026-04-01",
            "2é26-04-01T10:00:00",
            "2026-04-01T10:00:00+é1:00",
            "2026-04-01T10:00:00+",
            " 2026-04-01T10:00:00Z",
            "2026-04-01T10:00:00Z ",
            "\n2026-04-01T10:00",
        ] {
            assert!(InputDateTime::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn rfc3339_variants_are_read() {
        let instant = |text: &str| match InputDateTime::parse(text) {
            Ok(InputDateTime::Instant(t)) => t.to_rfc3339(),
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(instant("2026-04-01t10:00:00z"), "2026-04-01T10:00:00+00:00");
        assert_eq!(instant("2026-04-01T10:00Z"), "2026-04-01T10:00:00+00:00");
        assert_eq!(
            instant("2026-04-01 10:00-05:30"),
            "2026-04-01T10:00:00-05:30"
        );
        assert_eq!(
            instant("2026-04-01T10:00:00.250+01:00"),
            "2026-04-01T10:00:00.250+01:00"
        );
        let naive = |text: &str| match InputDateTime::parse(text) {
            Ok(InputDateTime::Naive(t)) => t.to_string(),
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(naive("2026-04-01T10:00"), "2026-04-01 10:00:00");
        assert_eq!(naive("2026-04-01 10:00:30.5"), "2026-04-01 10:00:30.500");
        // Digits past nanoseconds: read or refused, never a panic.
        let _ = InputDateTime::parse("2026-04-01T10:00:00.1234567890123456789Z");
        let _ = InputDateTime::parse("2026-04-01T10:00:00.1234567890123456789");
    }

    #[test]
    fn second_level_offsets_fall_back_to_utc() {
        let t = "1960-06-01T12:00:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            output_time(t, chrono_tz::Africa::Monrovia).with_timezone(&Utc),
            t
        );
    }

    #[test]
    fn output_carries_the_zone_offset() {
        let t = "2026-07-01T07:00:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            output_time(t, chrono_tz::Europe::Berlin).to_rfc3339(),
            "2026-07-01T09:00:00+02:00"
        );
    }
}
