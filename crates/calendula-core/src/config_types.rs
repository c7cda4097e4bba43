//! Value types shared by every configuration section.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use schemars::gen::SchemaGenerator;
use schemars::schema::{InstanceType, Schema, SchemaObject, StringValidation};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration written the way operators write them: `500ms`, `30s`, `5m`, `1h`, `30d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HumanDuration(pub Duration);

/// The problem reported for a port key set to 0 (`u16` already bounds the top).
pub const EXPECTED_PORT: &str = "expected a port between 1 and 65535";

/// The longest duration any setting takes: a century. Past it, adding a duration to a clock
/// reading can overflow at run time, so a larger one is refused with the file's problems.
const MAX_DURATION_DAYS: u64 = 36_500;

/// The pattern a [`HumanDuration`] must match; also published in the JSON Schema.
pub const HUMAN_DURATION_PATTERN: &str = r"^[0-9]+(ms|s|m|h|d)$";

impl HumanDuration {
    pub const fn from_secs(secs: u64) -> Self {
        Self(Duration::from_secs(secs))
    }

    pub const fn from_millis(ms: u64) -> Self {
        Self(Duration::from_millis(ms))
    }

    pub fn get(self) -> Duration {
        self.0
    }
}

impl FromStr for HumanDuration {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let expected = || {
            format!(
                "invalid duration {s:?}, expected a number with a unit: 500ms, 30s, 5m, 1h, 30d"
            )
        };
        let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(expected)?;
        let (digits, unit) = s.split_at(split);
        let n: u64 = digits.parse().map_err(|_| expected())?;
        let millis_per_unit = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(expected()),
        };
        n.checked_mul(millis_per_unit)
            .filter(|&ms| ms <= MAX_DURATION_DAYS * 86_400_000)
            .map(|ms| Self(Duration::from_millis(ms)))
            .ok_or_else(|| format!("duration {s:?} is too large (at most {MAX_DURATION_DAYS}d)"))
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        let units = [
            (86_400_000, "d"),
            (3_600_000, "h"),
            (60_000, "m"),
            (1_000, "s"),
        ];
        match units
            .iter()
            .find(|(size, _)| ms != 0 && ms.is_multiple_of(*size))
        {
            Some((size, unit)) => write!(f, "{}{unit}", ms / size),
            None => write!(f, "{ms}ms"),
        }
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl JsonSchema for HumanDuration {
    fn schema_name() -> String {
        "Duration".into()
    }

    fn schema_id() -> Cow<'static, str> {
        Cow::Borrowed("calendula::HumanDuration")
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        SchemaObject {
            instance_type: Some(InstanceType::String.into()),
            string: Some(Box::new(StringValidation {
                pattern: Some(HUMAN_DURATION_PATTERN.into()),
                ..Default::default()
            })),
            ..Default::default()
        }
        .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        let cases = [
            ("500ms", 500),
            ("30s", 30_000),
            ("5m", 300_000),
            ("1h", 3_600_000),
            ("30d", 2_592_000_000),
            ("36500d", 3_153_600_000_000),
        ];
        for (text, ms) in cases {
            assert_eq!(
                text.parse::<HumanDuration>().unwrap().0,
                Duration::from_millis(ms),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_garbage() {
        for text in [
            "",
            "5",
            "m",
            "5x",
            "-5s",
            "1.5h",
            "5 m",
            "99999999999999999999d",
            "36501d",
            "3153600000001ms",
        ] {
            assert!(text.parse::<HumanDuration>().is_err(), "{text}");
        }
    }

    #[test]
    fn a_secret_of_the_wrong_type_is_not_quoted() {
        for wrong in [
            serde_json::json!(98765432),
            serde_json::json!(-98765432),
            serde_json::json!(98765.432),
            serde_json::json!(true),
        ] {
            let error = serde_json::from_value::<Secret>(wrong.clone()).unwrap_err();
            let message = error.to_string();
            assert!(!message.contains(&wrong.to_string()), "{message}");
            assert!(message.ends_with("expected a string"), "{message}");
        }
        let secret: Secret = serde_json::from_value(serde_json::json!("pw")).unwrap();
        assert_eq!(secret.expose(), "pw");
    }

    #[test]
    fn displays_in_the_largest_whole_unit() {
        for text in ["500ms", "30s", "5m", "1h", "30d", "90s"] {
            assert_eq!(text.parse::<HumanDuration>().unwrap().to_string(), text);
        }
    }
}

/// For a nested section or map: a key with nothing after it (`embedded:`, null) means its
/// defaults, as an empty top-level section does. Use with
/// `#[serde(deserialize_with = "null_as_default")]` and `#[schemars(with = "Option<T>")]`.
pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A configuration value that must never reach a log: `Debug` prints `***`, and a value of
/// the wrong type (a password written as a number) is not quoted in the problem reported.
#[derive(Clone, PartialEq, Eq, JsonSchema, Default)]
#[serde(transparent)]
pub struct Secret(pub String);

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // `any`: a value of another type must reach the visitor, which does not quote it.
        deserializer.deserialize_any(SecretVisitor)
    }
}

struct SecretVisitor;

impl SecretVisitor {
    fn refuse<E: serde::de::Error>(&self, what: &str) -> Result<Secret, E> {
        Err(E::custom(format_args!(
            "invalid type: {what} (not repeated here: it is a secret), expected a string"
        )))
    }
}

impl serde::de::Visitor<'_> for SecretVisitor {
    type Value = Secret;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Secret, E> {
        Ok(Secret(text.to_owned()))
    }

    fn visit_string<E: serde::de::Error>(self, text: String) -> Result<Secret, E> {
        Ok(Secret(text))
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Secret, E> {
        self.refuse("a boolean")
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Secret, E> {
        self.refuse("a number")
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Secret, E> {
        self.refuse("a number")
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Secret, E> {
        self.refuse("a number")
    }
}

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}
