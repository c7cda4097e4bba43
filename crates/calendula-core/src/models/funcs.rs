//! Bodies and answers of `/funcs/*`: the nearest common free slot and free/busy.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::datetime::InputDateTime;
use super::duration::InputDuration;

/// `POST /funcs/calc_free_slot` body. Times without an offset are UTC.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(example = "FreeSlotRequest::example")]
pub struct FreeSlotRequest {
    /// Length of the meeting, > 0.
    pub event_duration: InputDuration,
    /// The earliest acceptable start.
    pub start_calc_from: InputDateTime,
    /// 1..100 logins.
    #[schemars(length(min = 1))]
    pub user_logins: Vec<String>,
    /// Latest acceptable end; default 365 days after `start_calc_from`.
    #[serde(default)]
    pub search_until: Option<InputDateTime>,
    /// How many non-overlapping candidates to return (1..100, default 1).
    #[serde(default)]
    #[schemars(range(min = 1, max = "crate::validate::MAX_SLOTS"))]
    pub limit: Option<i64>,
}

impl FreeSlotRequest {
    fn example() -> serde_json::Value {
        serde_json::json!({"event_duration": "01:00", "start_calc_from": "2026-03-02T09:00:00Z", "user_logins": ["ada", "grace"]})
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub struct TimeSpan {
    #[serde(serialize_with = "super::datetime::serialize_time")]
    pub start: DateTime<FixedOffset>,
    #[serde(serialize_with = "super::datetime::serialize_time")]
    pub end: DateTime<FixedOffset>,
}

/// The earliest common slot (`start`/`end` null when there is none before `search_until`),
/// plus every candidate in `slots` when `limit` > 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct FreeTime {
    #[serde(serialize_with = "super::datetime::serialize_optional_time")]
    pub start: Option<DateTime<FixedOffset>>,
    #[serde(serialize_with = "super::datetime::serialize_optional_time")]
    pub end: Option<DateTime<FixedOffset>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slots: Option<Vec<TimeSpan>>,
}

/// `POST /funcs/free_busy` body. Times without an offset are UTC.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct FreeBusyRequest {
    /// 1..100 logins.
    #[schemars(length(min = 1))]
    pub user_logins: Vec<String>,
    pub time_from: InputDateTime,
    pub time_to: InputDateTime,
}

/// One user's merged, sorted intervals within the window, in the user's zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct UserFreeBusy {
    /// Occurrences of events the user authors or takes part in (unless they answered `no`).
    pub busy: Vec<TimeSpan>,
    /// Outside the user's working hours (empty without `work_days`).
    pub off_hours: Vec<TimeSpan>,
}

/// Per login.
pub type FreeBusy = BTreeMap<String, UserFreeBusy>;
