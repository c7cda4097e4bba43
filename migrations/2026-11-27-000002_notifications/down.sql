DROP TABLE notification_deliveries;
DROP TABLE notification_schedule;
