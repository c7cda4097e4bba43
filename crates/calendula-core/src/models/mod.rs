//! The JSON models of the HTTP API (SPEC §3). Output types derive `Serialize`; request
//! bodies derive `Deserialize` and are checked by [`crate::validate`] before use. Every type
//! derives `JsonSchema` for the OpenAPI document.

mod datetime;
mod duration;
mod event;
mod funcs;
mod listing;
mod time;
mod user;

pub use datetime::{last_writable_instant, output_time, InputDateTime};
pub use duration::InputDuration;
pub use event::{
    Channel, Decision, Event, LoginRef, NewEvent, NewParticipant, Notification, NotificationInput,
    Participant, Repetition, RepetitionInput, BUSY_NAME,
};
pub use funcs::{FreeBusy, FreeBusyRequest, FreeSlotRequest, FreeTime, TimeSpan, UserFreeBusy};
pub use listing::{EventList, RenderedEvent};
pub use time::{EDay, Time};
pub use user::{Contacts, Name, NewUser, User, UserFull, WorkDays};

pub use calendula_time::recurrence::RepeatType;

/// `null` means "absent" for optional fields with a default (as clients of other calendar
/// APIs send it), instead of a type error.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de> + Default,
{
    use serde::Deserialize;
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
