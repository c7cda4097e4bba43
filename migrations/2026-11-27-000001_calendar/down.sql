DROP TABLE notification_rules;
DROP TABLE participants;
DROP TABLE events;
DROP TABLE users;
