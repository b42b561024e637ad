ALTER TABLE request_events DROP COLUMN client_address;
