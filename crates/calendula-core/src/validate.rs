//! The rules of SPEC §3 that types cannot express. Each check names the offending field
//! (JSON path) in its 422.

use std::collections::HashSet;
use std::str::FromStr;

use calendula_time::recurrence::{RepeatType, Rule, Series};
use chrono::{DateTime, Utc, Weekday};
use chrono_tz::Tz;
use email_address::EmailAddress;

use crate::models::{Channel, Decision, NewEvent, NewUser, WorkDays};
use crate::{ApiError, ApiResult};

pub const MAX_LOGIN_LEN: usize = 64;
pub const MAX_NAME_LEN: usize = 255;
pub const MAX_CONTACT_LEN: usize = 255;
pub const MAX_DESCRIPTION_LEN: usize = 10_000;
pub const MAX_PARTICIPANTS: usize = 1000;
pub const MAX_NOTIFICATIONS: usize = 20;
pub const MAX_EACH: i64 = 1000;
/// Distinct users a free-slot or free/busy request may name.
pub const MAX_USERS: usize = 100;
/// Candidates a free-slot request may ask for (`limit`).
pub const MAX_SLOTS: i64 = 100;
/// 50 days, the longest reminder offset.
pub const MAX_OFFSET_MINUTES: u32 = 50 * 24 * 60;
pub const DEFAULT_EVENT_NAME: &str = "New meeting";

pub fn login(field: &str, login: &str) -> ApiResult<()> {
    if !is_login(login) {
        return Err(ApiError::invalid(
            field,
            format!("login must be 1..{MAX_LOGIN_LEN} characters of [A-Za-z0-9._-]"),
        ));
    }
    Ok(())
}

pub fn timezone(field: &str, name: &str) -> ApiResult<Tz> {
    Tz::from_str(name).map_err(|_| {
        ApiError::invalid(
            field,
            format!("unknown time zone {name:?}, expected an IANA name like Europe/Berlin"),
        )
    })
}

/// Text that fits its column: at most `max` characters, and no NUL (PostgreSQL text cannot hold it).
fn max_chars(field: &str, text: &str, max: usize) -> ApiResult<()> {
    if text.chars().count() > max {
        return Err(ApiError::invalid(
            field,
            format!("at most {max} characters"),
        ));
    }
    if text.contains('\0') {
        return Err(ApiError::invalid(field, "must not contain NUL characters"));
    }
    Ok(())
}

/// Whether `login` could name a user at all (lookups of anything else find nobody).
pub fn is_login(login: &str) -> bool {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    !login.is_empty() && login.len() <= MAX_LOGIN_LEN && login.chars().all(allowed)
}

/// An address a mail can be sent to: `local@domain` by the rules of `email_address`,
/// which the SMTP sender (lettre) checks recipients with, domain literals
/// (`x@[192.0.2.1]`) included. Whitespace and control characters are refused even where
/// RFC 5322 allows them (in quotes): no reminder should carry them into an SMTP command.
pub fn is_email(email: &str) -> bool {
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    let literal = domain
        .strip_prefix('[')
        .and_then(|d| d.strip_suffix(']'))
        .is_some_and(|ip| ip.parse::<std::net::IpAddr>().is_ok());
    EmailAddress::is_valid_local_part(local) && (literal || EmailAddress::is_valid_domain(domain))
}

/// A reminder offset `^\d+[mhd]$` in minutes, at most 50 days.
pub fn offset_minutes(field: &str, offset: &str) -> ApiResult<u32> {
    let bad = || {
        ApiError::invalid(
            field,
            format!("invalid offset {offset:?}, expected a number and m, h or d, at most 50d"),
        )
    };
    if !offset.is_ascii() {
        return Err(bad());
    }
    let (digits, unit) = offset.split_at(offset.len().saturating_sub(1));
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let per_unit = match unit {
        "m" => 1,
        "h" => 60,
        "d" => 1440,
        _ => return Err(bad()),
    };
    let n: u64 = digits.parse().map_err(|_| bad())?;
    match n.checked_mul(per_unit) {
        Some(minutes) if minutes <= u64::from(MAX_OFFSET_MINUTES) => Ok(minutes as u32),
        _ => Err(bad()),
    }
}

/// A user to insert, checked.
#[derive(Debug, Clone)]
pub struct ValidUser {
    pub timezone: Tz,
}

pub fn new_user(user: &NewUser) -> ApiResult<ValidUser> {
    login("login", &user.login)?;
    max_chars("name.first", &user.name.first, MAX_NAME_LEN)?;
    max_chars("name.last", &user.name.last, MAX_NAME_LEN)?;
    let timezone = timezone("timezone", user.timezone.as_deref().unwrap_or("UTC"))?;
    for (field, value) in [
        ("contacts.email", &user.contacts.email),
        ("contacts.phone", &user.contacts.phone),
        ("contacts.telegram_chat_id", &user.contacts.telegram_chat_id),
        ("contacts.slack", &user.contacts.slack),
    ] {
        if let Some(value) = value {
            max_chars(field, value, MAX_CONTACT_LEN)?;
        }
    }
    if let Some(email) = &user.contacts.email {
        if !is_email(email) {
            return Err(ApiError::invalid(
                "contacts.email",
                format!("expected an email address like ada@example.org, got {email:?}"),
            ));
        }
    }
    if let Some(password) = &user.password {
        if password.is_empty() || password.len() > 1024 {
            return Err(ApiError::invalid(
                "password",
                "password must be 1..1024 bytes",
            ));
        }
    }
    Ok(ValidUser { timezone })
}

/// Working hours as the free-time arithmetic wants them.
pub fn work_hours(days: &WorkDays) -> calendula_time::workhours::WorkHours {
    calendula_time::workhours::WorkHours {
        day_from: days.day_from.into(),
        day_to: days.day_to.into(),
        time_from: days.time_from.naive(),
        time_to: days.time_to.naive(),
    }
}

/// An event to insert, checked, with every time resolved to an instant.
#[derive(Debug, Clone)]
pub struct ValidEvent {
    pub series: Series,
    pub name: String,
    pub description: String,
    /// (channel, offset as given, offset in minutes), duplicates removed.
    pub notifications: Vec<(Channel, String, u32)>,
    /// Logins with their initial decisions, duplicates removed (first wins).
    pub participants: Vec<(String, Decision)>,
}

/// The zone an event's wall times are read in: its own, else its author's.
pub fn event_timezone(event: &NewEvent, author_tz: Tz) -> ApiResult<Tz> {
    match &event.timezone {
        Some(name) => timezone("timezone", name),
        None => Ok(author_tz),
    }
}

pub fn new_event(event: &NewEvent, tz: Tz) -> ApiResult<ValidEvent> {
    let start = event.start_time.resolve(tz, "start_time")?;
    let end = event.end_time.resolve(tz, "end_time")?;
    if end <= start {
        return Err(ApiError::invalid(
            "end_time",
            "end_time must be after start_time",
        ));
    }
    let name = event
        .name
        .clone()
        .unwrap_or_else(|| DEFAULT_EVENT_NAME.to_owned());
    max_chars("name", &name, MAX_NAME_LEN)?;
    let description = event.description.clone().unwrap_or_default();
    max_chars("description", &description, MAX_DESCRIPTION_LEN)?;
    let rule = event
        .repetition
        .as_ref()
        .map(|r| repetition(r, start, tz))
        .transpose()?;
    Ok(ValidEvent {
        series: Series {
            start,
            end,
            tz,
            rule,
            wall_start: event.start_time.wall_time(tz),
        },
        name,
        description,
        notifications: notifications(event)?,
        participants: participants(event)?,
    })
}

fn repetition(
    input: &crate::models::RepetitionInput,
    start: DateTime<Utc>,
    tz: Tz,
) -> ApiResult<Rule> {
    let each = input.each();
    if !(1..=MAX_EACH).contains(&each) {
        return Err(ApiError::invalid(
            "repetition.each",
            format!("each must be 1..{MAX_EACH}"),
        ));
    }
    if !input.weekly_days.is_empty() && input.kind != RepeatType::Weekly {
        return Err(ApiError::invalid(
            "repetition.weekly_days",
            "weekly_days only apply to the weekly type",
        ));
    }
    let due = input
        .due_date
        .map(|d| d.resolve(tz, "repetition.due_date"))
        .transpose()?;
    if due.is_some_and(|due| due < start) {
        return Err(ApiError::invalid(
            "repetition.due_date",
            "due_date must not be before start_time",
        ));
    }
    let mut weekly_days: Vec<Weekday> = Vec::new();
    for day in &input.weekly_days {
        let day = Weekday::from(*day);
        if !weekly_days.contains(&day) {
            weekly_days.push(day);
        }
    }
    weekly_days.sort_by_key(|d| d.num_days_from_monday());
    Ok(Rule {
        kind: input.kind,
        each: each as u32,
        weekly_days,
        monthly_last_week: input.monthly_last_week,
        due,
    })
}

/// The distinct reminders (the same channel and offset given twice is one reminder, its
/// first entry counts), at most [`MAX_NOTIFICATIONS`] of them, as participants are counted.
fn notifications(event: &NewEvent) -> ApiResult<Vec<(Channel, String, u32)>> {
    let mut seen = HashSet::new();
    let mut rules = Vec::new();
    for (i, n) in event.notifications.iter().enumerate() {
        let minutes = offset_minutes(&format!("notifications[{i}].offset"), &n.offset)?;
        if seen.insert((n.channel, minutes)) {
            rules.push((n.channel, n.offset.clone(), minutes));
        }
    }
    if rules.len() > MAX_NOTIFICATIONS {
        return Err(ApiError::invalid(
            "notifications",
            format!("at most {MAX_NOTIFICATIONS} notifications"),
        ));
    }
    Ok(rules)
}

/// The distinct participants (a login given twice is one participant, its first entry
/// counts), at most [`MAX_PARTICIPANTS`] of them.
fn participants(event: &NewEvent) -> ApiResult<Vec<(String, Decision)>> {
    let mut seen = HashSet::new();
    let mut list = Vec::new();
    for (i, p) in event.participants.iter().enumerate() {
        login(&format!("participants[{i}].user.login"), &p.user.login)?;
        if seen.insert(p.user.login.as_str()) {
            list.push((
                p.user.login.clone(),
                p.decision.unwrap_or(Decision::Undecided),
            ));
        }
    }
    if list.len() > MAX_PARTICIPANTS {
        return Err(ApiError::invalid(
            "participants",
            format!("at most {MAX_PARTICIPANTS} participants"),
        ));
    }
    Ok(list)
}

/// A query window `[from, to)`: not empty, and not longer than `longest` (the cost of
/// answering grows with it).
pub fn window(
    field: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    longest: Option<chrono::Duration>,
) -> ApiResult<()> {
    if to <= from {
        let start = if field == "time_to" {
            "time_from"
        } else {
            "the start of the window"
        };
        return Err(ApiError::invalid(
            field,
            format!("{field} must be after {start}"),
        ));
    }
    if let Some(longest) = longest.filter(|longest| to - from > *longest) {
        return Err(ApiError::invalid(
            field,
            format!("the window may span at most {} days", longest.num_days()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for good in [
            "ada@example.org",
            "ada.lovelace+cal@mail.example.co.uk",
            "o'brien@localhost",
            "x@xn--bcher-kva.example",
            "x@[192.0.2.1]",
        ] {
            assert!(is_email(good), "{good}");
        }
        for bad in [
            "not an email",
            "@example.org",
            "ada@",
            "ada@example..org",
            ".ada@example.org",
            "a..b@example.org",
            "a b@example.org",
            "x@ex.org\r\nRCPT TO:<evil@ex.org>",
            "\"a b\"@example.org",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn offsets() {
        assert_eq!(offset_minutes("o", "15m").unwrap(), 15);
        assert_eq!(offset_minutes("o", "2h").unwrap(), 120);
        for max in ["50d", "1200h", "72000m"] {
            assert_eq!(
                offset_minutes("o", max).unwrap(),
                MAX_OFFSET_MINUTES,
                "{max}"
            );
        }
        for bad in [
            "51d",
            "1201h",
            "72001m",
            "",
            "m",
            "5",
            "5s",
            "-5m",
            "1.5h",
            "99999999999999999999d",
            "5 m",
        ] {
            assert!(offset_minutes("o", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn nul_is_rejected_in_text() {
        assert!(max_chars("name", "a\0b", 10).is_err());
        assert!(max_chars("name", "ab", 10).is_ok());
    }

    #[test]
    fn logins() {
        assert!(login("login", "ada.lovelace-1_x").is_ok());
        assert!(login("login", &"a".repeat(64)).is_ok());
        for bad in ["", "a b", "ада", "a/b", &"a".repeat(65)] {
            assert!(login("login", bad).is_err(), "{bad}");
        }
    }
}
