//! Query parameters, parsed by hand so that a missing or malformed one is a 400 naming it.

use calendula_core::models::InputDateTime;
use calendula_core::{ApiError, ApiResult, Query};

/// The one value of query parameter `name`, read as a datetime; a 400 naming it otherwise.
pub fn datetime(name: &str, value: &Query<'_, InputDateTime>) -> ApiResult<InputDateTime> {
    parse_datetime(name, value.get(name)?)
}

/// A datetime. An offset written `+01:00` without percent-encoding arrives as ` 01:00`
/// (a query string decodes `+` as a space); it is read as the `+` the client meant.
fn parse_datetime(name: &str, text: &str) -> ApiResult<InputDateTime> {
    InputDateTime::parse(text)
        .or_else(|e| restore_plus(text).map_or(Err(e), |t| InputDateTime::parse(&t)))
        .map_err(|e| ApiError::bad_request(Some(name), e))
}

/// `2026-03-01T00:00:00 01:00` → `2026-03-01T00:00:00+01:00`; `None` if the text does not
/// end in a space and an `HH:MM` offset after a date and time (`T`, `t` or a space between
/// them: `2026-03-01 10:00 01:00`, both `+` decoded).
fn restore_plus(text: &str) -> Option<String> {
    let (datetime, offset) = text.rsplit_once(' ')?;
    let (hours, minutes) = offset.split_once(':')?;
    let two_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    let has_time = datetime.len() > 10 && datetime.contains(':');
    (two_digits(hours) && two_digits(minutes) && has_time).then(|| format!("{datetime}+{offset}"))
}

/// A numeric id from the path, digits only (`+1` is not event 1); anything else names no
/// resource.
pub fn id(kind: &str, text: &str) -> ApiResult<i64> {
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    digits
        .then(|| text.parse().ok())
        .flatten()
        .ok_or_else(|| ApiError::not_found(format!("no {kind} {text:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_digits_only() {
        assert_eq!(id("event", "42").unwrap(), 42);
        for text in ["", "+1", "-1", " 1", "1e3", "99999999999999999999"] {
            let error = id("event", text).unwrap_err();
            assert_eq!(error.status.code, 404, "{text:?}");
        }
    }

    #[test]
    fn an_unencoded_plus_offset_is_read_as_plus() {
        let parsed = parse_datetime("time_from", "2026-03-01T00:00:00 01:00").unwrap();
        let expected = InputDateTime::parse("2026-03-01T00:00:00+01:00").unwrap();
        assert_eq!(parsed, expected);
        assert_eq!(
            parse_datetime("t", "2026-03-01T10:30:00.5 05:30").unwrap(),
            InputDateTime::parse("2026-03-01T10:30:00.5+05:30").unwrap()
        );
        for text in ["2026-03-01t00:00:00 01:00", "2026-03-01 00:00:00 01:00"] {
            assert_eq!(parse_datetime("t", text).unwrap(), expected, "{text}");
        }
    }

    #[test]
    fn whitespace_around_a_datetime_is_refused() {
        for text in [
            "2026-03-01T00:00:00Z ",
            " 2026-03-01T00:00:00Z",
            "2026-03-01T00:00:00 01:00 ",
        ] {
            assert!(parse_datetime("t", text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn a_space_separated_wall_time_is_not_taken_for_an_offset() {
        let parsed = parse_datetime("t", "2026-03-01 10:30").unwrap();
        assert_eq!(parsed, InputDateTime::parse("2026-03-01T10:30").unwrap());
        assert!(parse_datetime("t", "2026-03-01T10:30 1:00").is_err());
    }
}
