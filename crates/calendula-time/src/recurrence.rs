//! Recurring events: which occurrences a series has in a window (SPEC §5).
//!
//! Occurrence starts are wall times in the event's zone, turned into instants only at the
//! end, so a 09:00 meeting stays at 09:00 across DST changes. Expansion jumps straight to
//! the window: its cost follows the number of occurrences returned, never the age of S.

mod pattern;
mod rrule;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc, Weekday};
use chrono_tz::Tz;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::localtime::{to_instant, to_local};
use pattern::Pattern;

/// How far a zone's UTC offset can differ between two instants close to each other, with
/// room to spare: the largest real jumps (Samoa 2011, Alaska 1867) are one day. Turning
/// an instant bound into a wall-time bound is off by at most this much.
const OFFSET_SLACK: TimeDelta = TimeDelta::days(2);

/// The repeat types of SPEC §3 (`ERepeatType`). `weekly` is also read as `weakly`, the
/// original service's spelling, so its clients keep working.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RepeatType {
    Daily,
    #[serde(alias = "weakly")]
    Weekly,
    MonthlyNumber,
    MonthlyDayWeekno,
    Yearly,
    Workday,
}

/// A validated repetition. `each` is 1..=1000 (0 is read as 1 rather than dividing by it).
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub kind: RepeatType,
    pub each: u32,
    /// Only read for `Weekly`; `Workday` always means Monday to Friday.
    pub weekly_days: Vec<Weekday>,
    pub monthly_last_week: bool,
    /// Inclusive bound on occurrence *start* instants; `None` repeats forever.
    pub due: Option<DateTime<Utc>>,
}

/// An event as far as its timing goes. The first occurrence is always `start..end`, whatever
/// the rule says, and every other occurrence lasts exactly as long (`end - start`, > 0).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The zone whose wall clock the rule follows.
    pub tz: Tz,
    /// `None` is a one-off event.
    pub rule: Option<Rule>,
    /// S, the wall time the repeats keep. It is the wall time of `start` except when the
    /// client wrote a time inside a DST gap: 02:30 on a spring-forward day starts at 03:30,
    /// yet the series goes on at 02:30 on every other day.
    pub wall_start: NaiveDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Occurrence {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Series {
    /// A series whose S is the wall time `tz` shows at `start`.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>, tz: Tz, rule: Option<Rule>) -> Self {
        Self {
            start,
            end,
            tz,
            rule,
            wall_start: to_local(tz, start),
        }
    }

    /// Occurrences with `start < to && end > from`, sorted by start and unique.
    pub fn overlapping(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Iterator<Item = Occurrence> + '_ {
        // Whatever starts before from − D has ended by `from`.
        let earliest = from.checked_sub_signed(self.duration());
        self.occurrences_reaching(earliest)
            .skip_while(move |o| o.end <= from)
            .take_while(move |o| o.start < to)
    }

    /// Occurrences starting at or after `t`, sorted and lazy: without a due date it never ends.
    pub fn starting_from(&self, t: DateTime<Utc>) -> impl Iterator<Item = Occurrence> + '_ {
        self.occurrences_reaching(Some(t))
            .skip_while(move |o| o.start < t)
    }

    /// When the last occurrence ends, so storage can skip series finished before a window;
    /// `None` when the series repeats forever (or ends beyond the representable range).
    pub fn last_end(&self) -> Option<DateTime<Utc>> {
        let Some(rule) = &self.rule else {
            return Some(self.end);
        };
        let last_start = self.last_start_until(rule.due?, rule);
        last_start.checked_add_signed(self.duration())
    }

    fn duration(&self) -> TimeDelta {
        self.end - self.start
    }

    fn first(&self) -> Occurrence {
        Occurrence {
            start: self.start,
            end: self.end,
        }
    }

    /// All occurrences in order, beginning close enough before `earliest` that none starting
    /// at or after it is missed (`None`: from S on). Earlier ones may come first.
    fn occurrences_reaching(&self, earliest: Option<DateTime<Utc>>) -> Occurrences {
        let local_start = self.wall_start;
        let pattern = self
            .rule
            .as_ref()
            .map(|r| Pattern::new(r, local_start.date()));
        // Wall times before this start before `earliest`, whatever the zone's offsets do.
        let wall_floor = earliest
            .filter(|t| *t > self.start)
            .map(|t| self.wall_before(t));
        let first_period = match (pattern, wall_floor) {
            (Some(p), Some(floor)) => p.first_period_reaching(floor.date()),
            _ => 0,
        };
        Occurrences {
            tz: self.tz,
            local_start,
            duration: self.duration(),
            due: self.rule.as_ref().and_then(|r| r.due),
            // Period 0 is S's own; starting later means S ended long before the window.
            first: (first_period == 0).then(|| self.first()),
            pattern,
            next_period: first_period,
            wall_floor,
            pending: Vec::new().into_iter(),
            last_start: None,
            done: false,
        }
    }

    /// A wall time no later than the wall time of any instant ≥ `t`.
    fn wall_before(&self, t: DateTime<Utc>) -> NaiveDateTime {
        let local = to_local(self.tz, t);
        local.checked_sub_signed(OFFSET_SLACK).unwrap_or(local)
    }

    /// Start of the last occurrence not after `due`, scanning back from the due date.
    fn last_start_until(&self, due: DateTime<Utc>, rule: &Rule) -> DateTime<Utc> {
        let local_start = self.wall_start;
        let pattern = Pattern::new(rule, local_start.date());
        let due_local = to_local(self.tz, due);
        let due_date = due_local
            .checked_add_signed(OFFSET_SLACK)
            .unwrap_or(due_local)
            .date();
        let last_period = pattern.first_period_reaching(due_date);
        let periods = (0..=last_period / pattern.step())
            .rev()
            .map(|k| k * pattern.step());
        // Newest first; stop at S, which is always there to fall back on.
        let last_candidate = periods
            .filter_map(|p| pattern.dates_in(p))
            .flat_map(|dates| dates.into_iter().rev())
            .map(|d| d.and_time(local_start.time()))
            .take_while(|local| *local > local_start)
            .map(|local| to_instant(self.tz, local))
            .find(|start| *start <= due);
        last_candidate.map_or(self.start, |start| start.max(self.start))
    }
}

/// The occurrence stream: S, then each period's candidates after S, up to the due date.
struct Occurrences {
    tz: Tz,
    local_start: NaiveDateTime,
    duration: TimeDelta,
    due: Option<DateTime<Utc>>,
    first: Option<Occurrence>,
    pattern: Option<Pattern>,
    next_period: i64,
    /// Candidates before this wall time are skipped unconverted: they start too early to
    /// matter (the first period reached can begin days before it).
    wall_floor: Option<NaiveDateTime>,
    pending: std::vec::IntoIter<NaiveDate>,
    /// Wall times map to instants monotonically except inside DST gaps, where two candidates
    /// a day apart can land on one instant (Samoa skipped a whole day); keep those once.
    last_start: Option<DateTime<Utc>>,
    done: bool,
}

impl Occurrences {
    fn next_date(&mut self) -> Option<NaiveDate> {
        loop {
            if let Some(date) = self.pending.next() {
                return Some(date);
            }
            let pattern = self.pattern?;
            self.pending = pattern.dates_in(self.next_period)?.into_iter();
            self.next_period += pattern.step();
        }
    }

    fn next_candidate(&mut self) -> Option<Occurrence> {
        loop {
            let local = self.next_date()?.and_time(self.local_start.time());
            if local <= self.local_start || self.wall_floor.is_some_and(|floor| local < floor) {
                continue;
            }
            let start = to_instant(self.tz, local);
            if self.due.is_some_and(|due| start > due) {
                return None;
            }
            if self.last_start.is_some_and(|last| start <= last) {
                continue;
            }
            let end = start.checked_add_signed(self.duration)?;
            return Some(Occurrence { start, end });
        }
    }
}

impl Iterator for Occurrences {
    type Item = Occurrence;

    fn next(&mut self) -> Option<Occurrence> {
        if self.done {
            return None;
        }
        let next = self.first.take().or_else(|| self.next_candidate());
        match next {
            Some(o) => self.last_start = Some(o.start),
            None => self.done = true,
        }
        next
    }
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
