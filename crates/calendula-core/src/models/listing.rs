//! The JSON of an occurrence listing (`GET /users/{login}/events`): a list of [`Event`]s in
//! which one event appears once per occurrence, differing only in its times.
//!
//! A busy month holds over a thousand occurrences of a few hundred events. Serializing each
//! occurrence as a whole `Event` spent most of the request re-escaping the same names,
//! participants and rules. Here each event's JSON around its times is serialized once
//! ([`RenderedEvent`]) and copied into every occurrence; the bytes are the same as
//! serializing the `Event`s (the tests below hold the two together).

use chrono::{DateTime, FixedOffset};
use rocket::http::ContentType;
use rocket::response::{self, Responder};
use rocket::serde::json::Json;
use rocket::{Request, Response};
use rocket_okapi::gen::OpenApiGenerator;
use rocket_okapi::okapi::openapi3::Responses;
use rocket_okapi::response::OpenApiResponderInner;
use serde::Serialize;

use super::datetime::format_time;
use super::{Event, Notification, Participant, Repetition, User};

/// An event's JSON around its times: what comes before `start_time`'s value and what
/// comes after `end_time`'s, each serialized once.
pub struct RenderedEvent {
    /// `{"id":…,"author":…,"start_time":`
    head: String,
    /// `,"timezone":…,"repetition":…}`
    tail: String,
}

/// [`Event`]'s fields before its times, in [`Event`]'s order.
#[derive(Serialize)]
struct Head<'a> {
    id: i64,
    author: &'a User,
}

/// [`Event`]'s fields after its times, in [`Event`]'s order.
#[derive(Serialize)]
struct Tail<'a> {
    timezone: &'a str,
    name: &'a str,
    description: &'a str,
    notifications: &'a [Notification],
    participants: &'a [Participant],
    repetition: &'a Option<Repetition>,
}

impl RenderedEvent {
    /// `event`'s fields; its own times are not kept (each occurrence brings its own).
    pub fn new(event: &Event) -> serde_json::Result<Self> {
        let mut head = serde_json::to_string(&Head {
            id: event.id,
            author: &event.author,
        })?;
        head.pop(); // the object goes on: `}` becomes `,"start_time":`
        head.push_str(r#","start_time":"#);
        let mut tail = serde_json::to_string(&Tail {
            timezone: &event.timezone,
            name: &event.name,
            description: &event.description,
            notifications: &event.notifications,
            participants: &event.participants,
            repetition: &event.repetition,
        })?;
        tail.replace_range(..1, ","); // continues the object: `{` becomes `,`
        Ok(Self { head, tail })
    }

    /// Appends the event at one occurrence to `out`: the JSON of the [`Event`] with these
    /// times.
    fn write_at(
        &self,
        out: &mut Vec<u8>,
        start: DateTime<FixedOffset>,
        end: DateTime<FixedOffset>,
    ) {
        // RFC 3339 text has nothing JSON escapes: it goes between quotes as it is.
        out.extend_from_slice(self.head.as_bytes());
        out.push(b'"');
        out.extend_from_slice(format_time(&start).as_bytes());
        out.extend_from_slice(br#"","end_time":""#);
        out.extend_from_slice(format_time(&end).as_bytes());
        out.push(b'"');
        out.extend_from_slice(self.tail.as_bytes());
    }
}

/// A JSON array of events written item by item; documented as `[Event]`.
pub struct EventList(Vec<u8>);

impl EventList {
    pub fn new() -> Self {
        Self(b"[".to_vec())
    }

    /// Appends `event` at one of its occurrences.
    pub fn push(
        &mut self,
        event: &RenderedEvent,
        start: DateTime<FixedOffset>,
        end: DateTime<FixedOffset>,
    ) {
        if self.0.len() > 1 {
            self.0.push(b',');
        }
        event.write_at(&mut self.0, start, end);
    }

    fn finish(mut self) -> Vec<u8> {
        self.0.push(b']');
        self.0
    }
}

impl Default for EventList {
    fn default() -> Self {
        Self::new()
    }
}

impl<'r> Responder<'r, 'static> for EventList {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let body = self.finish();
        Response::build()
            .header(ContentType::JSON)
            .sized_body(body.len(), std::io::Cursor::new(body))
            .ok()
    }
}

impl OpenApiResponderInner for EventList {
    fn responses(gen: &mut OpenApiGenerator) -> rocket_okapi::Result<Responses> {
        Json::<Vec<Event>>::responses(gen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{
        Channel, Decision, Name, Notification, Participant, RepeatType, Repetition, User,
    };

    fn user(login: &str, first: &str) -> User {
        User {
            login: login.into(),
            name: Name {
                first: first.into(),
                last: "O'Brien \"Jr\" \\ \u{1F600}".into(),
            },
        }
    }

    fn event() -> Event {
        let start = DateTime::parse_from_rfc3339("2026-03-29T09:00:00+02:00").unwrap();
        Event {
            id: 7,
            author: user("ann", "Ann"),
            start_time: start,
            end_time: start + chrono::Duration::minutes(45),
            timezone: "Europe/Berlin".into(),
            name: "Stand-up \"daily\"\n".into(),
            description: "line one\tline two </script> ü".into(),
            notifications: vec![Notification {
                channel: Channel::Email,
                offset: "15m".into(),
            }],
            participants: vec![Participant {
                user: user("bob", "Bob"),
                decision: Decision::Undecided,
            }],
            repetition: Some(Repetition {
                kind: RepeatType::Weekly,
                weekly_days: Vec::new(),
                monthly_last_week: false,
                due_date: None,
                each: 2,
            }),
        }
    }

    fn written_at(
        event: &RenderedEvent,
        start: DateTime<FixedOffset>,
        end: DateTime<FixedOffset>,
    ) -> String {
        let mut out = Vec::new();
        event.write_at(&mut out, start, end);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_rendered_occurrence_is_the_event_with_its_times() {
        let event = event();
        let later = DateTime::parse_from_rfc3339("2026-10-25T09:00:00.5+01:00").unwrap();
        let end = DateTime::parse_from_rfc3339("2026-10-25T08:45:00Z").unwrap();
        let one_off = Event {
            repetition: None,
            ..event.clone()
        };
        for event in [event.clone(), event.busy_block(), one_off] {
            let expected = Event {
                start_time: later,
                end_time: end,
                ..event.clone()
            };
            assert_eq!(
                written_at(&RenderedEvent::new(&event).unwrap(), later, end),
                serde_json::to_string(&expected).unwrap()
            );
        }
    }

    #[test]
    fn a_list_is_the_json_array_of_its_items() {
        let event = event();
        let rendered = RenderedEvent::new(&event).unwrap();
        assert_eq!(EventList::new().finish(), b"[]");
        let mut list = EventList::new();
        list.push(&rendered, event.start_time, event.end_time);
        list.push(&rendered, event.start_time, event.end_time);
        let expected = serde_json::to_vec(&vec![event.clone(), event]).unwrap();
        assert_eq!(list.finish(), expected);
    }
}
