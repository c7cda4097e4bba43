DROP TRIGGER busy_events_participant ON participants;
DROP TRIGGER busy_events_author ON events;
DROP FUNCTION busy_events_follow_participant();
DROP FUNCTION busy_events_add_author();
DROP FUNCTION busy_event_row(BIGINT, BIGINT);
DROP TABLE busy_events;
