ALTER TABLE requests DROP COLUMN pvwa_extras;
