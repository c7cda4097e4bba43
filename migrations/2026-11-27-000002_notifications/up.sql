-- Reminders (module `notificator`): what is due next, and one record per message.

-- The next occurrence each reminder rule will notify: one row per rule while its series
-- has occurrences left. Created with the event; advanced (or deleted, when the series is
-- over) by the worker in the transaction that records the due messages.
CREATE TABLE notification_schedule (
    rule_id          BIGINT PRIMARY KEY REFERENCES notification_rules (id) ON DELETE CASCADE,
    occurrence_start TIMESTAMPTZ NOT NULL,
    -- occurrence_start - the rule's offset.
    fire_at          TIMESTAMPTZ NOT NULL
);

CREATE INDEX notification_schedule_fire_at ON notification_schedule (fire_at);

-- The outbox: one row per (rule, occurrence, recipient), created when it falls due. The
-- unique key is what makes a second message for the same reminder impossible.
CREATE TABLE notification_deliveries (
    id               BIGSERIAL PRIMARY KEY,
    rule_id          BIGINT NOT NULL REFERENCES notification_rules (id) ON DELETE CASCADE,
    occurrence_start TIMESTAMPTZ NOT NULL,
    user_id          BIGINT NOT NULL REFERENCES users (id),
    channel          TEXT NOT NULL CHECK (channel IN ('sms', 'email', 'telegram', 'slack')),
    -- The contact the message went to (NULL for the log sender or when skipped).
    contact          TEXT,
    fire_at          TIMESTAMPTZ NOT NULL,
    -- pending: to send (again) at next_attempt_at; the others are final.
    status           TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'skipped', 'missed')),
    -- Why it was skipped, missed or failed; the error of the last failed attempt.
    last_error       TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    -- When a pending row may be claimed: its fire time, a retry's backoff, or the end of
    -- the lease of the instance now sending it (a crashed instance's rows come back then).
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    -- Identifies the claim now holding the row; a stale claim cannot record a result.
    lease_token      BIGINT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- When the message was handed over (status sent).
    sent_at          TIMESTAMPTZ,
    CONSTRAINT one_message_per_reminder UNIQUE (rule_id, occurrence_start, user_id)
);

CREATE INDEX notification_deliveries_pending ON notification_deliveries (next_attempt_at)
    WHERE status = 'pending';
