-- Calendula's calendar: users, events (one-off or recurring), who takes part, reminder rules.

-- Lets one GiST index combine "whose" (bigint equality) with "when" (range overlap).
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE users (
    id               BIGSERIAL PRIMARY KEY,
    login            TEXT NOT NULL UNIQUE,
    first_name       TEXT NOT NULL,
    last_name        TEXT NOT NULL,
    timezone         TEXT NOT NULL DEFAULT 'UTC',
    -- Working hours: weekdays 0 = Monday .. 6 = Sunday (a cyclic range), minutes after midnight.
    work_day_from    SMALLINT CHECK (work_day_from BETWEEN 0 AND 6),
    work_day_to      SMALLINT CHECK (work_day_to BETWEEN 0 AND 6),
    work_time_from   SMALLINT CHECK (work_time_from BETWEEN 0 AND 1439),
    work_time_to     SMALLINT CHECK (work_time_to BETWEEN 0 AND 1439),
    email            TEXT,
    phone            TEXT,
    telegram_chat_id TEXT,
    slack            TEXT,
    -- argon2id PHC string; NULL = the user has no password.
    password_hash    TEXT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT work_days_all_or_nothing CHECK (
        (work_day_from IS NULL) = (work_day_to IS NULL)
        AND (work_day_from IS NULL) = (work_time_from IS NULL)
        AND (work_day_from IS NULL) = (work_time_to IS NULL)
    )
);

CREATE TABLE events (
    id                       BIGSERIAL PRIMARY KEY,
    author_id                BIGINT NOT NULL REFERENCES users (id),
    -- The first occurrence.
    start_time               TIMESTAMPTZ NOT NULL,
    end_time                 TIMESTAMPTZ NOT NULL,
    timezone                 TEXT NOT NULL,
    name                     TEXT NOT NULL,
    description              TEXT NOT NULL DEFAULT '',
    -- Recurrence; repeat_type NULL = a one-off event.
    repeat_type              TEXT CHECK (repeat_type IN
                                 ('daily', 'weekly', 'monthly_number', 'monthly_day_weekno', 'yearly', 'workday')),
    repeat_each              INTEGER NOT NULL DEFAULT 1 CHECK (repeat_each BETWEEN 1 AND 1000),
    -- Bit 0 = Monday .. bit 6 = Sunday.
    repeat_weekly_days       SMALLINT NOT NULL DEFAULT 0,
    repeat_monthly_last_week BOOLEAN NOT NULL DEFAULT FALSE,
    repeat_due               TIMESTAMPTZ,
    -- When the last occurrence ends; NULL = the series never ends.
    active_until             TIMESTAMPTZ,
    -- Everything the event can ever cover, for window queries.
    span                     TSTZRANGE GENERATED ALWAYS AS (tstzrange(start_time, active_until, '[)')) STORED,
    created_at               TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT end_after_start CHECK (end_time > start_time),
    CONSTRAINT due_after_start CHECK (repeat_due IS NULL OR repeat_due >= start_time)
);

CREATE INDEX events_author_span ON events USING gist (author_id, span);

CREATE TABLE participants (
    event_id BIGINT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    user_id  BIGINT NOT NULL REFERENCES users (id),
    decision TEXT NOT NULL DEFAULT 'undecided' CHECK (decision IN ('yes', 'maybe', 'no', 'undecided')),
    -- A copy of events.span (events are immutable once created), so that "this user's events
    -- in a window" is one index scan here too.
    span     TSTZRANGE NOT NULL,
    PRIMARY KEY (event_id, user_id)
);

CREATE INDEX participants_user_span ON participants USING gist (user_id, span);

CREATE TABLE notification_rules (
    id             BIGSERIAL PRIMARY KEY,
    event_id       BIGINT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    channel        TEXT NOT NULL CHECK (channel IN ('sms', 'email', 'telegram', 'slack')),
    -- As the client wrote it ("90m"), and in minutes.
    offset_text    TEXT NOT NULL,
    offset_minutes INTEGER NOT NULL CHECK (offset_minutes BETWEEN 0 AND 72000)
);

CREATE INDEX notification_rules_event ON notification_rules (event_id);
