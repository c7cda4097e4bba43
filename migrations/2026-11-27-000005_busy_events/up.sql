-- What `/funcs/*` reads: one row per (user, event) that makes the user busy (the author,
-- and each participant who has not answered `no`) with a copy of the event's timing.
-- Events are immutable once created, so the copy cannot go stale. The index carries the
-- timing too, so the search reads no table and joins nothing (the join back to `events`
-- was most of the cost of a free-slot search for 50 users). The triggers below keep it in
-- step with `events` and `participants`.
--
-- "Which rows can overlap [from, to)" is a B-tree range, not a GiST search (a GiST search
-- per user cost ~50 µs, which for 50 users was most of a query): rows are classed by how
-- far they reach past their start (`reach`), and a class that reaches at most R is read
-- from `from - R` to `to` on (user_id, reach, start_time), for all the users in one scan.
--   0: the whole span (every occurrence) lasts at most 24 hours  (most one-off meetings)
--   1: at most 9600 hours (400 days)                              (series with an end, trips)
--   2: longer or without end                                      (read from the start)
-- Hours, not days: a day is 23 or 25 hours across DST in a session's time zone. The
-- bounds are repeated in `busy_in_window` (crates/calendula-db/src/events.rs).

-- No event or answer may be written between the copy below and the triggers taking over
-- (another server instance may still be serving during an upgrade).
LOCK TABLE events, participants IN SHARE ROW EXCLUSIVE MODE;

CREATE TABLE busy_events (
    user_id                  BIGINT NOT NULL REFERENCES users (id),
    event_id                 BIGINT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    span                     TSTZRANGE NOT NULL,
    start_time               TIMESTAMPTZ NOT NULL,
    end_time                 TIMESTAMPTZ NOT NULL,
    timezone                 TEXT NOT NULL,
    repeat_type              TEXT,
    repeat_each              INTEGER NOT NULL,
    repeat_weekly_days       SMALLINT NOT NULL,
    repeat_monthly_last_week BOOLEAN NOT NULL,
    repeat_due               TIMESTAMPTZ,
    start_wall               TIMESTAMP,
    reach                    SMALLINT NOT NULL CHECK (reach BETWEEN 0 AND 2),
    PRIMARY KEY (event_id, user_id)
);

-- The row that makes `for_user` busy with event `for_event`.
CREATE FUNCTION busy_event_row(for_event BIGINT, for_user BIGINT)
RETURNS SETOF busy_events LANGUAGE sql STABLE AS $$
    SELECT for_user, e.id, e.span, e.start_time, e.end_time, e.timezone, e.repeat_type,
           e.repeat_each, e.repeat_weekly_days, e.repeat_monthly_last_week, e.repeat_due,
           e.start_wall,
           CASE WHEN upper(e.span) - lower(e.span) <= interval '24 hours' THEN 0
                WHEN upper(e.span) - lower(e.span) <= interval '9600 hours' THEN 1
                ELSE 2 END::smallint
    FROM events e WHERE e.id = for_event
$$;

INSERT INTO busy_events SELECT b.* FROM events e, busy_event_row(e.id, e.author_id) b;
INSERT INTO busy_events
SELECT b.* FROM participants p, busy_event_row(p.event_id, p.user_id) b WHERE p.decision <> 'no'
ON CONFLICT DO NOTHING;

CREATE INDEX busy_events_by_reach ON busy_events (user_id, reach, start_time)
    INCLUDE (event_id, span, end_time, timezone, repeat_type, repeat_each,
             repeat_weekly_days, repeat_monthly_last_week, repeat_due, start_wall);

-- An index-only scan visits the table for rows on pages not yet marked all-visible, which
-- only vacuum does. New events (the future, where searches look) sit on such pages until
-- then, so vacuum this table after 2 % of it changed rather than the default 20 %.
ALTER TABLE busy_events SET (
    autovacuum_vacuum_insert_scale_factor = 0.02,
    autovacuum_vacuum_scale_factor = 0.02
);

-- The author is busy with their event whatever they answer.
CREATE FUNCTION busy_events_add_author() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO busy_events SELECT * FROM busy_event_row(NEW.id, NEW.author_id);
    RETURN NULL;
END $$;

CREATE TRIGGER busy_events_author AFTER INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION busy_events_add_author();

-- A participant is busy unless they answered `no`; the author's own row is never removed.
CREATE FUNCTION busy_events_follow_participant() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- maybe → yes and the like change nothing here: no index churn, and the visibility
    -- map the index-only scans rely on stays set.
    IF TG_OP = 'UPDATE' AND (OLD.decision <> 'no') = (NEW.decision <> 'no')
       AND OLD.event_id = NEW.event_id AND OLD.user_id = NEW.user_id THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        DELETE FROM busy_events b USING events e
        WHERE b.event_id = OLD.event_id AND b.user_id = OLD.user_id
          AND e.id = OLD.event_id AND e.author_id <> OLD.user_id;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.decision <> 'no' THEN
        INSERT INTO busy_events SELECT * FROM busy_event_row(NEW.event_id, NEW.user_id)
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER busy_events_participant AFTER INSERT OR UPDATE OR DELETE ON participants
    FOR EACH ROW EXECUTE FUNCTION busy_events_follow_participant();
