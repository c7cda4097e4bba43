//! Durations in requests: seconds (a number), `"HH:MM[:SS]"`, or ISO 8601 (`"PT1H30M"`).

use std::borrow::Cow;

use chrono::Duration;
use schemars::gen::SchemaGenerator;
use schemars::schema::{InstanceType, Schema, SchemaObject};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputDuration(pub Duration);

const EXPECTED: &str = "a duration: seconds, \"HH:MM[:SS]\" or ISO 8601 like \"PT1H30M\"";

impl InputDuration {
    pub fn parse(text: &str) -> Result<Self, String> {
        let parsed = if text.starts_with('P') || text.starts_with('p') {
            iso8601(text)
        } else {
            clock(text)
        };
        parsed
            .map(Self)
            .ok_or_else(|| format!("invalid duration {text:?}, expected {EXPECTED}"))
    }

    fn from_seconds(seconds: f64) -> Result<Self, String> {
        if !seconds.is_finite() || seconds.abs() > 1e12 {
            return Err(format!("invalid duration {seconds}, expected {EXPECTED}"));
        }
        Ok(Self(Duration::milliseconds(
            (seconds * 1000.0).round() as i64
        )))
    }
}

/// `HH:MM` or `HH:MM:SS` (hours may exceed 23).
fn clock(text: &str) -> Option<Duration> {
    let parts: Vec<&str> = text.split(':').collect();
    if !(2..=3).contains(&parts.len())
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let numbers: Vec<i64> = parts
        .iter()
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let (hours, minutes, seconds) = (numbers[0], numbers[1], numbers.get(2).copied().unwrap_or(0));
    if minutes > 59 || seconds > 59 || hours > 1_000_000 {
        return None;
    }
    Some(Duration::seconds(hours * 3600 + minutes * 60 + seconds))
}

/// `PnDTnHnMnS` / `PnW` (no years or months: their length depends on the calendar).
fn iso8601(text: &str) -> Option<Duration> {
    let upper = text.to_ascii_uppercase();
    let body = upper.strip_prefix('P')?;
    let (date, time) = match body.split_once('T') {
        Some((date, time)) if !time.is_empty() => (date, Some(time)),
        Some(_) => return None,
        None => (body, None),
    };
    let mut total = 0.0;
    let mut any = false;
    for (part, units) in [
        (date, &[('W', 604_800.0), ('D', 86_400.0)][..]),
        (
            time.unwrap_or(""),
            &[('H', 3600.0), ('M', 60.0), ('S', 1.0)][..],
        ),
    ] {
        let mut rest = part;
        for (unit, seconds) in units {
            if let Some(index) = rest.find(*unit) {
                let number: f64 = rest[..index].replace(',', ".").parse().ok()?;
                if number < 0.0 {
                    return None;
                }
                total += number * seconds;
                rest = &rest[index + 1..];
                any = true;
            }
        }
        if !rest.is_empty() {
            return None;
        }
    }
    (any && total <= 1e12).then(|| Duration::milliseconds((total * 1000.0).round() as i64))
}

impl<'de> Deserialize<'de> for InputDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(
            untagged,
            expecting = "a duration: seconds, \"HH:MM[:SS]\" or ISO 8601 like \"PT1H30M\""
        )]
        enum Raw {
            Seconds(f64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Seconds(seconds) => Self::from_seconds(seconds),
            Raw::Text(text) => Self::parse(&text),
        }
        .map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for InputDuration {
    fn schema_name() -> String {
        "InputDuration".into()
    }

    fn schema_id() -> Cow<'static, str> {
        Cow::Borrowed("calendula::InputDuration")
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        // `anyOf`, not a list of types: OpenAPI 3.0 allows one type per schema.
        let of_type = |instance_type: InstanceType| {
            Schema::from(SchemaObject {
                instance_type: Some(instance_type.into()),
                ..Default::default()
            })
        };
        let mut schema = SchemaObject::default();
        schema.subschemas().any_of = Some(vec![
            of_type(InstanceType::Number),
            of_type(InstanceType::String),
        ]);
        schema.metadata().description =
            Some("Seconds, \"HH:MM[:SS]\", or ISO 8601 (\"PT1H30M\").".into());
        schema.metadata().examples = vec![3600.into(), "01:00".into(), "PT1H".into()];
        schema.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seconds(json: &str) -> i64 {
        serde_json::from_str::<InputDuration>(json)
            .unwrap()
            .0
            .num_seconds()
    }

    #[test]
    fn accepts_every_form() {
        assert_eq!(seconds("3600"), 3600);
        assert_eq!(seconds("90.0"), 90);
        assert_eq!(seconds(r#""01:30""#), 5400);
        assert_eq!(seconds(r#""00:00:45""#), 45);
        assert_eq!(seconds(r#""PT1H30M""#), 5400);
        assert_eq!(seconds(r#""P1DT2H""#), 93_600);
        assert_eq!(seconds(r#""PT45S""#), 45);
        assert_eq!(seconds(r#""P1W""#), 604_800);
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            r#""""#,
            r#""1h""#,
            r#""PT""#,
            r#""P""#,
            r#""PT1X""#,
            r#""01:60""#,
            r#""1:2:3:4""#,
            r#""P1M""#,
            r#"" PT1H""#,
            r#""01:30 ""#,
            "true",
            "null",
            "1e300",
        ] {
            assert!(serde_json::from_str::<InputDuration>(bad).is_err(), "{bad}");
        }
    }
}
