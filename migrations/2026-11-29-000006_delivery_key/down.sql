ALTER TABLE notification_deliveries DROP COLUMN delivery_key;
