//! Half-open intervals of instants and the set operations free-time search is built from.
//!
//! Every function here returns sorted, disjoint, non-empty intervals, so their outputs can be
//! fed into each other (and into [`crate::freeslot::free_slots`]) without re-sorting.

use chrono::{DateTime, Duration, Utc};

/// The instants `start <= t < end`. Half-open, so a meeting ending at 10:00 and one starting
/// at 10:00 do not overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Interval {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Interval {
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        Interval { start, end }
    }

    /// True when no instant lies inside (also for inverted intervals, `end < start`, which
    /// DST arithmetic can produce and which are treated as nothing).
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    pub fn duration(&self) -> Duration {
        if self.is_empty() {
            Duration::zero()
        } else {
            self.end - self.start
        }
    }

    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.start <= t && t < self.end
    }

    /// The part of `self` inside `window`, if any.
    pub fn intersect(&self, window: Interval) -> Option<Interval> {
        let clipped = Interval::new(self.start.max(window.start), self.end.min(window.end));
        (!clipped.is_empty()).then_some(clipped)
    }
}

/// Sorted, coalesced (overlapping and touching intervals joined), empty ones dropped.
///
/// Touching intervals are joined because under half-open semantics `[a, b) ∪ [b, c)` is
/// exactly `[a, c)`; keeping them apart would only make callers see fake boundaries.
pub fn merge(intervals: impl IntoIterator<Item = Interval>) -> Vec<Interval> {
    let mut sorted: Vec<Interval> = intervals.into_iter().filter(|i| !i.is_empty()).collect();
    sorted.sort_unstable();
    let mut merged: Vec<Interval> = Vec::with_capacity(sorted.len());
    for next in sorted {
        match merged.last_mut() {
            Some(last) if next.start <= last.end => last.end = last.end.max(next.end),
            _ => merged.push(next),
        }
    }
    merged
}

/// The parts of `window` not covered by `covered` (which is merged/sorted).
///
/// Overlapping input is tolerated as long as it is sorted by start; unsorted input gives
/// wrong answers, so run it through [`merge`] first.
pub fn complement(covered: &[Interval], window: Interval) -> Vec<Interval> {
    let mut gaps = Vec::new();
    complement_into(covered, window, &mut gaps);
    gaps
}

/// [`complement`], appended to `gaps` (for callers that complement many windows into one
/// list). Stops at the first covered interval starting after the window.
pub fn complement_into(covered: &[Interval], window: Interval, gaps: &mut Vec<Interval>) {
    let mut cursor = window.start;
    for busy in covered {
        if busy.start >= window.end {
            break;
        }
        if busy.start > cursor {
            gaps.push(Interval::new(cursor, busy.start));
        }
        cursor = cursor.max(busy.end);
    }
    if cursor < window.end {
        gaps.push(Interval::new(cursor, window.end));
    }
}

/// Clip to a window (dropping empty results).
pub fn clip(intervals: &[Interval], window: Interval) -> Vec<Interval> {
    intervals
        .iter()
        .filter_map(|i| i.intersect(window))
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::TimeZone;

    /// An interval of minutes after 2026-01-05T00:00Z (a Monday), for compact tests.
    pub(crate) fn m(start: i64, end: i64) -> Interval {
        let base = Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).unwrap();
        Interval::new(
            base + Duration::minutes(start),
            base + Duration::minutes(end),
        )
    }

    #[test]
    fn merge_empty_input() {
        assert_eq!(merge(Vec::new()), vec![]);
    }

    #[test]
    fn merge_joins_overlapping_and_touching() {
        assert_eq!(merge([m(0, 10), m(5, 20), m(20, 30)]), vec![m(0, 30)]);
    }

    #[test]
    fn merge_keeps_gaps() {
        assert_eq!(merge([m(0, 10), m(11, 20)]), vec![m(0, 10), m(11, 20)]);
    }

    #[test]
    fn merge_swallows_nested() {
        assert_eq!(merge([m(0, 100), m(10, 20), m(30, 40)]), vec![m(0, 100)]);
    }

    #[test]
    fn merge_sorts_unsorted_input() {
        let merged = merge([m(50, 60), m(0, 10), m(55, 70), m(5, 8)]);
        assert_eq!(merged, vec![m(0, 10), m(50, 70)]);
    }

    #[test]
    fn merge_drops_empty_and_inverted() {
        assert_eq!(merge([m(5, 5), m(10, 3), m(20, 30)]), vec![m(20, 30)]);
    }

    #[test]
    fn complement_of_nothing_is_the_window() {
        assert_eq!(complement(&[], m(0, 100)), vec![m(0, 100)]);
    }

    #[test]
    fn complement_finds_gaps_inside_window() {
        let covered = [m(10, 20), m(30, 40)];
        assert_eq!(
            complement(&covered, m(0, 50)),
            vec![m(0, 10), m(20, 30), m(40, 50)]
        );
    }

    #[test]
    fn complement_ignores_outside_and_handles_straddling() {
        let covered = [m(-50, -40), m(-5, 5), m(95, 200), m(300, 400)];
        assert_eq!(complement(&covered, m(0, 100)), vec![m(5, 95)]);
    }

    #[test]
    fn complement_of_full_cover_is_empty() {
        assert_eq!(complement(&[m(-1, 101)], m(0, 100)), vec![]);
        assert_eq!(complement(&[m(0, 100)], m(0, 100)), vec![]);
    }

    #[test]
    fn complement_with_touching_cover_leaves_no_gap() {
        assert_eq!(complement(&[m(0, 10), m(10, 20)], m(0, 20)), vec![]);
    }

    #[test]
    fn complement_of_empty_window_is_empty() {
        assert_eq!(complement(&[m(10, 20)], m(50, 50)), vec![]);
    }

    #[test]
    fn clip_trims_and_drops() {
        let clipped = clip(&[m(-10, 5), m(20, 30), m(90, 120), m(100, 110)], m(0, 100));
        assert_eq!(clipped, vec![m(0, 5), m(20, 30), m(90, 100)]);
    }

    #[test]
    fn clip_drops_touching_outside() {
        assert_eq!(clip(&[m(-10, 0), m(100, 110)], m(0, 100)), vec![]);
    }

    #[test]
    fn clip_empty() {
        assert_eq!(clip(&[], m(0, 100)), vec![]);
    }
}
