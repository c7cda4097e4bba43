//! Weekdays and times of day.

use chrono::{NaiveTime, Timelike, Weekday};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use crate::strict_structs::ObjectOnly;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EDay {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl From<EDay> for Weekday {
    fn from(day: EDay) -> Self {
        match day {
            EDay::Mon => Weekday::Mon,
            EDay::Tue => Weekday::Tue,
            EDay::Wed => Weekday::Wed,
            EDay::Thu => Weekday::Thu,
            EDay::Fri => Weekday::Fri,
            EDay::Sat => Weekday::Sat,
            EDay::Sun => Weekday::Sun,
        }
    }
}

impl From<Weekday> for EDay {
    fn from(day: Weekday) -> Self {
        [
            EDay::Mon,
            EDay::Tue,
            EDay::Wed,
            EDay::Thu,
            EDay::Fri,
            EDay::Sat,
            EDay::Sun,
        ][day.num_days_from_monday() as usize]
    }
}

/// A time of day; input also as `"HH:MM"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Time {
    /// 0..23
    #[schemars(range(max = 23))]
    pub hour: u32,
    /// 0..59
    #[schemars(range(max = 59))]
    pub minute: u32,
}

impl Time {
    pub fn from_minutes(minutes: u32) -> Self {
        Self {
            hour: minutes / 60 % 24,
            minute: minutes % 60,
        }
    }

    pub fn minutes(self) -> u32 {
        self.hour * 60 + self.minute
    }

    pub fn naive(self) -> NaiveTime {
        NaiveTime::from_hms_opt(self.hour, self.minute, 0).unwrap_or(NaiveTime::MIN)
    }

    /// `HH:MM` (or `H:MM`): digits only, two for the minutes.
    fn parse(text: &str) -> Result<Self, String> {
        let digits = |s: &str, lengths: std::ops::RangeInclusive<usize>| {
            (lengths.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
        };
        let parts = text
            .split_once(':')
            .and_then(|(h, m)| Some((digits(h, 1..=2)?, digits(m, 2..=2)?)));
        match parts {
            Some((hour, minute)) => Time::checked(hour, minute),
            None => Err(format!("invalid time {text:?}, expected \"HH:MM\"")),
        }
    }

    fn checked(hour: u32, minute: u32) -> Result<Self, String> {
        if hour < 24 && minute < 60 {
            Ok(Self { hour, minute })
        } else {
            Err(format!(
                "invalid time {hour:02}:{minute:02}, expected hour 0..23 and minute 0..59"
            ))
        }
    }
}

impl From<NaiveTime> for Time {
    fn from(t: NaiveTime) -> Self {
        Self {
            hour: t.hour(),
            minute: t.minute(),
        }
    }
}

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Parts {
            hour: u32,
            minute: u32,
        }
        // Untagged: serde buffers the value, so the object form is `ObjectOnly` (an array
        // `[9, 30]` would otherwise pass as the struct's array form).
        #[derive(Deserialize)]
        #[serde(
            untagged,
            expecting = "a time: {\"hour\": 0..23, \"minute\": 0..59} or \"HH:MM\""
        )]
        enum Raw {
            Object(ObjectOnly<Parts>),
            Text(String),
        }
        let parsed = match Raw::deserialize(deserializer)? {
            Raw::Object(ObjectOnly(Parts { hour, minute })) => Time::checked(hour, minute),
            Raw::Text(text) => Time::parse(&text),
        };
        parsed.map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_accepts_both_forms() {
        let a: Time = serde_json::from_str(r#"{"hour": 9, "minute": 30}"#).unwrap();
        let b: Time = serde_json::from_str(r#""09:30""#).unwrap();
        assert_eq!(a, b);
        let c: Time = serde_json::from_str(r#""9:30""#).unwrap();
        assert_eq!(a, c);
        assert_eq!(a.minutes(), 570);
        for bad in [
            r#"{"hour": 24, "minute": 0}"#,
            r#""9:60""#,
            r#""nine""#,
            "930",
            r#""9:5""#,
            r#""+9:05""#,
            r#""009:05""#,
            r#""09:05:00""#,
            "[9, 30]",
        ] {
            assert!(serde_json::from_str::<Time>(bad).is_err(), "{bad}");
        }
    }
}
