//! Pure calendar arithmetic for Calendula. Everything here is deterministic and free of I/O:
//! callers fetch rows, this crate turns them into instants, occurrences and free slots.

pub mod freeslot;
pub mod intervals;
pub mod localtime;
pub mod recurrence;
pub mod workhours;
