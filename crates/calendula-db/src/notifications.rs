//! The reminder schedule (module `notificator`): for each reminder rule, the next occurrence
//! it will notify, kept in `notification_schedule`. The notificator's worker owns the rest
//! of the reminder tables; the first schedule row of each rule is written here, in the
//! transaction that creates the event.

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use calendula_time::recurrence::Series;

use crate::events::EventRow;
use crate::schema::{events, notification_rules, notification_schedule};

/// One occurrence a rule will notify, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub occurrence_start: DateTime<Utc>,
    /// `occurrence_start - offset`.
    pub fire_at: DateTime<Utc>,
}

/// The rule's offset as a duration.
pub fn offset(offset_minutes: i32) -> TimeDelta {
    TimeDelta::minutes(i64::from(offset_minutes))
}

/// The first occurrence whose fire time is at or after `not_before`; `None` when the series
/// has no such occurrence.
pub fn first_due(series: &Series, offset: TimeDelta, not_before: DateTime<Utc>) -> Option<Due> {
    let start_from = not_before.checked_add_signed(offset)?;
    let occurrence = series.starting_from(start_from).next()?;
    Some(Due {
        occurrence_start: occurrence.start,
        fire_at: occurrence.start.checked_sub_signed(offset)?,
    })
}

/// The occurrence after the one starting at `occurrence_start` (the next to notify once that
/// one is handled); `None` when the series is over.
pub fn next_due(
    series: &Series,
    offset: TimeDelta,
    occurrence_start: DateTime<Utc>,
) -> Option<Due> {
    let after = occurrence_start.checked_add_signed(TimeDelta::microseconds(1))?;
    let occurrence = series.starting_from(after).next()?;
    Some(Due {
        occurrence_start: occurrence.start,
        fire_at: occurrence.start.checked_sub_signed(offset)?,
    })
}

/// Schedules every reminder rule of a new event: its first occurrence whose fire time is
/// not before the event's creation, so reminders that were already past are never sent.
/// Runs inside the event's creation transaction.
pub async fn schedule_event(conn: &mut AsyncPgConnection, event_id: i64) -> QueryResult<()> {
    // The stored row, not the request's values: timestamps as PostgreSQL keeps them (µs).
    let Some((event, created_at)) = events::table
        .find(event_id)
        .select((EventRow::as_select(), events::created_at))
        .first::<(EventRow, DateTime<Utc>)>(conn)
        .await
        .optional()?
    else {
        return Ok(());
    };
    let rules: Vec<(i64, i32)> = notification_rules::table
        .filter(notification_rules::event_id.eq(event_id))
        .select((notification_rules::id, notification_rules::offset_minutes))
        .load(conn)
        .await?;
    let series = event.series();
    let rows: Vec<_> = rules
        .into_iter()
        .filter_map(|(rule_id, minutes)| {
            let due = first_due(&series, offset(minutes), created_at)?;
            Some((
                notification_schedule::rule_id.eq(rule_id),
                notification_schedule::occurrence_start.eq(due.occurrence_start),
                notification_schedule::fire_at.eq(due.fire_at),
            ))
        })
        .collect();
    if !rows.is_empty() {
        diesel::insert_into(notification_schedule::table)
            .values(rows)
            .execute(conn)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use calendula_time::recurrence::{RepeatType, Rule};
    use chrono::TimeZone;
    use chrono_tz::Europe::Berlin;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn berlin_daily(start: DateTime<Utc>, due: Option<DateTime<Utc>>) -> Series {
        Series::new(
            start,
            start + TimeDelta::minutes(30),
            Berlin,
            Some(Rule {
                kind: RepeatType::Daily,
                each: 1,
                weekly_days: Vec::new(),
                monthly_last_week: false,
                due,
            }),
        )
    }

    #[test]
    fn a_past_fire_time_is_never_scheduled() {
        // One-off event at 10:00; a 30m reminder fires at 09:30.
        let start = utc(2026, 3, 2, 10, 0);
        let one_off = Series::new(start, start + TimeDelta::hours(1), Berlin, None);
        let thirty = TimeDelta::minutes(30);
        let due = first_due(&one_off, thirty, utc(2026, 3, 2, 9, 30)).unwrap();
        assert_eq!(
            due.fire_at,
            utc(2026, 3, 2, 9, 30),
            "exactly at the fire time counts"
        );
        assert_eq!(first_due(&one_off, thirty, utc(2026, 3, 2, 9, 31)), None);
        assert_eq!(
            next_due(&one_off, thirty, start),
            None,
            "a one-off has no next"
        );
    }

    #[test]
    fn a_recurring_rule_skips_occurrences_already_past() {
        let series = berlin_daily(utc(2026, 3, 2, 8, 0), None);
        // Created at 08:10 on the 5th: the 5th's 08:00 occurrence (fire 07:50) is past.
        let due = first_due(&series, TimeDelta::minutes(10), utc(2026, 3, 5, 8, 10)).unwrap();
        assert_eq!(due.occurrence_start, utc(2026, 3, 6, 8, 0));
        assert_eq!(due.fire_at, utc(2026, 3, 6, 7, 50));
    }

    #[test]
    fn the_next_occurrence_keeps_the_wall_time_across_dst() {
        // 09:00 Berlin daily: 08:00 UTC in winter, 07:00 UTC after 29 March 2026.
        let series = berlin_daily(utc(2026, 3, 27, 8, 0), None);
        let offset = TimeDelta::minutes(15);
        let sat = next_due(&series, offset, utc(2026, 3, 27, 8, 0)).unwrap();
        assert_eq!(sat.occurrence_start, utc(2026, 3, 28, 8, 0));
        let sun = next_due(&series, offset, sat.occurrence_start).unwrap();
        assert_eq!(
            sun.occurrence_start,
            utc(2026, 3, 29, 7, 0),
            "23 hours later"
        );
        assert_eq!(sun.fire_at, utc(2026, 3, 29, 6, 45));
    }

    #[test]
    fn a_finished_series_has_no_next() {
        let series = berlin_daily(utc(2026, 5, 1, 8, 0), Some(utc(2026, 5, 2, 8, 0)));
        let offset = TimeDelta::zero();
        let second = next_due(&series, offset, utc(2026, 5, 1, 8, 0)).unwrap();
        assert_eq!(second.occurrence_start, utc(2026, 5, 2, 8, 0));
        assert_eq!(next_due(&series, offset, second.occurrence_start), None);
    }
}
