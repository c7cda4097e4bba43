-- S as the client wrote it, in the event's zone. It differs from the wall time of
-- start_time only for a start inside a DST gap (02:30 moves to 03:30, the series keeps
-- 02:30). NULL (events created before this column) means the wall time of start_time.
ALTER TABLE events ADD COLUMN start_wall TIMESTAMP;
