//! People.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::time::{EDay, Time};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(example = "Name::example")]
pub struct Name {
    #[schemars(length(max = "crate::validate::MAX_NAME_LEN"))]
    pub first: String,
    #[schemars(length(max = "crate::validate::MAX_NAME_LEN"))]
    pub last: String,
}

impl Name {
    fn example() -> Self {
        Self {
            first: "Ada".into(),
            last: "Lovelace".into(),
        }
    }
}

/// Working hours. Days form a cyclic range (`fri`..`mon` = fri, sat, sun, mon);
/// `time_to < time_from` is an overnight shift ending the next day; equal times = 24 hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WorkDays {
    pub day_from: EDay,
    pub day_to: EDay,
    pub time_from: Time,
    pub time_to: Time,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Contacts {
    /// An address a mail can be sent to: `local@domain`.
    #[schemars(length(max = "crate::validate::MAX_CONTACT_LEN"))]
    pub email: Option<String>,
    #[schemars(length(max = "crate::validate::MAX_CONTACT_LEN"))]
    pub phone: Option<String>,
    #[schemars(length(max = "crate::validate::MAX_CONTACT_LEN"))]
    pub telegram_chat_id: Option<String>,
    #[schemars(length(max = "crate::validate::MAX_CONTACT_LEN"))]
    pub slack: Option<String>,
}

/// A user as shown inside events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct User {
    pub login: String,
    pub name: Name,
}

/// A user with everything about them but the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct UserFull {
    pub login: String,
    pub name: Name,
    pub work_days: Option<WorkDays>,
    /// IANA time zone name.
    pub timezone: String,
    pub contacts: Contacts,
}

/// `POST /users/` body. Its `Debug` never shows the password.
#[derive(Clone, Deserialize, JsonSchema)]
#[schemars(example = "NewUser::example")]
pub struct NewUser {
    /// 1..64 characters of `[A-Za-z0-9._-]`.
    #[schemars(regex(pattern = r"^[A-Za-z0-9._-]{1,64}$"))]
    pub login: String,
    pub name: Name,
    #[serde(default)]
    pub work_days: Option<WorkDays>,
    /// IANA time zone name; default `UTC`.
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub contacts: Contacts,
    /// Optional; never returned. 1..1024 bytes.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub password: Option<String>,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("login", &self.login)
            .field("name", &self.name)
            .field("work_days", &self.work_days)
            .field("timezone", &self.timezone)
            .field("contacts", &self.contacts)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

impl NewUser {
    fn example() -> serde_json::Value {
        serde_json::json!({
            "login": "ada",
            "name": {"first": "Ada", "last": "Lovelace"},
            "work_days": {"day_from": "mon", "day_to": "fri", "time_from": "09:00", "time_to": "18:00"},
            "timezone": "Europe/London",
            "contacts": {"email": "ada@example.org"}
        })
    }
}
