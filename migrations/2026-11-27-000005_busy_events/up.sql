-- What `/funcs/*` reads: one row per (user, event) that makes the user busy (the author,
-- and each participant who has not answered `no`) with a copy of the event's timing.
-- Events are immutable once created, so the copy cannot go stale. The GiST index carries
-- the timing too: a user's busy events in a window are one index-only scan, with no join
-- back to `events` (that join was most of the cost of a free-slot search for 50 users).
-- The triggers below keep it in step with `events` and `participants`.
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
    PRIMARY KEY (event_id, user_id)
);

-- The row that makes `for_user` busy with event `for_event`.
CREATE FUNCTION busy_event_row(for_event BIGINT, for_user BIGINT)
RETURNS SETOF busy_events LANGUAGE sql STABLE AS $$
    SELECT for_user, e.id, e.span, e.start_time, e.end_time, e.timezone, e.repeat_type,
           e.repeat_each, e.repeat_weekly_days, e.repeat_monthly_last_week, e.repeat_due,
           e.start_wall
    FROM events e WHERE e.id = for_event
$$;

INSERT INTO busy_events SELECT b.* FROM events e, busy_event_row(e.id, e.author_id) b;
INSERT INTO busy_events
SELECT b.* FROM participants p, busy_event_row(p.event_id, p.user_id) b WHERE p.decision <> 'no'
ON CONFLICT DO NOTHING;

CREATE INDEX busy_events_user_span ON busy_events USING gist (user_id, span)
    INCLUDE (event_id, start_time, end_time, timezone, repeat_type, repeat_each,
             repeat_weekly_days, repeat_monthly_last_week, repeat_due, start_wall);

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
