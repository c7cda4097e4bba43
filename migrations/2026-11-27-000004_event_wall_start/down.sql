ALTER TABLE events DROP COLUMN start_wall;
