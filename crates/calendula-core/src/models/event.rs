//! Events, who takes part, how they repeat, and their reminders.

use chrono::{DateTime, FixedOffset};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::datetime::InputDateTime;
use super::time::EDay;
use super::user::User;
use calendula_time::recurrence::RepeatType;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Yes,
    Maybe,
    No,
    Undecided,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Yes => "yes",
            Self::Maybe => "maybe",
            Self::No => "no",
            Self::Undecided => "undecided",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Yes, Self::Maybe, Self::No, Self::Undecided]
            .into_iter()
            .find(|d| d.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Sms,
    Email,
    Telegram,
    Slack,
}

impl Channel {
    pub const ALL: [Channel; 4] = [
        Channel::Sms,
        Channel::Email,
        Channel::Telegram,
        Channel::Slack,
    ];

    /// The names of [`Self::ALL`], in the same order.
    const NAMES: [&'static str; 4] = ["sms", "email", "telegram", "slack"];

    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// Read as a string rather than as an enum so that, as a map key (the notificator's
/// `channels`), the error paths serde_path_to_error reports name the key.
impl<'de> Deserialize<'de> for Channel {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).ok_or_else(|| serde::de::Error::unknown_variant(&text, &Self::NAMES))
    }
}

/// A reminder rule: remind over `channel` `offset` before each occurrence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Notification {
    pub channel: Channel,
    /// `^\d+[mhd]$`, at most 50 days.
    pub offset: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
pub struct NotificationInput {
    pub channel: Channel,
    /// `^\d+[mhd]$`, at most 50 days (`50d`, `1200h`, `72000m`).
    #[schemars(regex(pattern = r"^\d+[mhd]$"))]
    pub offset: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Participant {
    pub user: User,
    pub decision: Decision,
}

/// A reference to a user by login; other fields given on input are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
pub struct LoginRef {
    pub login: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
pub struct NewParticipant {
    pub user: LoginRef,
    /// Default `undecided`.
    #[serde(default)]
    pub decision: Option<Decision>,
}

/// How an event repeats (SPEC §5).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Repetition {
    #[serde(rename = "type")]
    pub kind: RepeatType,
    pub weekly_days: Vec<EDay>,
    pub monthly_last_week: bool,
    /// Last possible occurrence start (inclusive); null = forever.
    #[serde(serialize_with = "super::datetime::serialize_optional_time")]
    pub due_date: Option<DateTime<FixedOffset>>,
    #[schemars(range(min = 1, max = "crate::validate::MAX_EACH"))]
    pub each: u32,
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
pub struct RepetitionInput {
    /// `weakly` is accepted as `weekly`.
    #[serde(rename = "type")]
    pub kind: RepeatType,
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub weekly_days: Vec<EDay>,
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub monthly_last_week: bool,
    #[serde(default)]
    pub due_date: Option<InputDateTime>,
    /// 1..1000; absent or `null` is 1.
    #[serde(default)]
    #[schemars(range(min = 1, max = "crate::validate::MAX_EACH"))]
    pub each: Option<i64>,
}

impl RepetitionInput {
    pub fn each(&self) -> i64 {
        self.each.unwrap_or(1)
    }
}

/// An event, or one occurrence of it (then `start_time`/`end_time` are the occurrence's).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Event {
    pub id: i64,
    pub author: User,
    #[serde(serialize_with = "super::datetime::serialize_time")]
    pub start_time: DateTime<FixedOffset>,
    #[serde(serialize_with = "super::datetime::serialize_time")]
    pub end_time: DateTime<FixedOffset>,
    /// IANA time zone the event's wall times (and repetition) are in.
    pub timezone: String,
    pub name: String,
    pub description: String,
    pub notifications: Vec<Notification>,
    pub participants: Vec<Participant>,
    pub repetition: Option<Repetition>,
}

/// The name a masked event shows (see [`Event::busy_block`]).
pub const BUSY_NAME: &str = "busy";

impl Event {
    /// The event as a caller who is not one of its members sees it when the auth module
    /// enforces access: when and whose time it blocks (id, author, times, zone, repetition),
    /// with the name `"busy"`, an empty description and no participants or reminders.
    pub fn busy_block(self) -> Event {
        Event {
            name: BUSY_NAME.to_owned(),
            description: String::new(),
            notifications: Vec::new(),
            participants: Vec::new(),
            ..self
        }
    }
}

/// `POST /event/` body (RCreateEvent).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(example = "NewEvent::example")]
pub struct NewEvent {
    /// Optional when a session is presented (then it is the session's user).
    #[serde(default)]
    pub author_login: Option<String>,
    pub start_time: InputDateTime,
    pub end_time: InputDateTime,
    /// IANA zone; default: the author's.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Default "New meeting".
    #[serde(default)]
    #[schemars(length(max = "crate::validate::MAX_NAME_LEN"))]
    pub name: Option<String>,
    #[serde(default)]
    #[schemars(length(max = "crate::validate::MAX_DESCRIPTION_LEN"))]
    pub description: Option<String>,
    #[serde(default)]
    pub repetition: Option<RepetitionInput>,
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub notifications: Vec<NotificationInput>,
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub participants: Vec<NewParticipant>,
}

impl NewEvent {
    fn example() -> serde_json::Value {
        serde_json::json!({
            "author_login": "ada",
            "start_time": "2026-03-02T09:00:00",
            "end_time": "2026-03-02T09:30:00",
            "timezone": "Europe/Berlin",
            "name": "Stand-up",
            "repetition": {"type": "workday", "due_date": "2026-12-31T23:59:59"},
            "notifications": [{"channel": "email", "offset": "10m"}],
            "participants": [{"user": {"login": "grace"}}]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_match_their_serde_form_both_ways() {
        for channel in Channel::ALL {
            let json = serde_json::to_value(channel).unwrap();
            assert_eq!(json, channel.as_str());
            assert_eq!(serde_json::from_value::<Channel>(json).unwrap(), channel);
        }
        let error = serde_json::from_str::<Channel>(r#""fax""#).unwrap_err();
        assert!(
            error.to_string().starts_with(
                "unknown variant `fax`, expected one of `sms`, `email`, `telegram`, `slack`"
            ),
            "{error}"
        );
    }
}
