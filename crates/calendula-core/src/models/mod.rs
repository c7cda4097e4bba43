//! The JSON models of the HTTP API (SPEC §3). Output types derive `Serialize`; request
//! bodies derive `Deserialize` and are checked by [`crate::validate`] before use. Every type
//! derives `JsonSchema` for the OpenAPI document.

mod datetime;
mod duration;
mod event;
mod funcs;
mod time;
mod user;

pub use datetime::{output_time, InputDateTime};
pub use duration::InputDuration;
pub use event::{
    Channel, Decision, Event, LoginRef, NewEvent, NewParticipant, Notification, NotificationInput,
    Participant, Repetition, RepetitionInput,
};
pub use funcs::{FreeBusy, FreeBusyRequest, FreeSlotRequest, FreeTime, TimeSpan, UserFreeBusy};
pub use time::{EDay, Time};
pub use user::{Contacts, Name, NewUser, User, UserFull, WorkDays};

pub use calendula_time::recurrence::RepeatType;
