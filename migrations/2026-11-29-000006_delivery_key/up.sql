-- A key per delivery, the same on every attempt, sent with the message (the
-- Idempotency-Key header, the mail's Message-ID) so a receiver can drop the copy a crash
-- between sending and recording may cause. Random rather than the row id: ids start again
-- at 1 in a new database, and a mail provider drops a Message-ID it has seen before.
ALTER TABLE notification_deliveries
    ADD COLUMN delivery_key TEXT NOT NULL DEFAULT gen_random_uuid()::text;
