-- cfssl's certificate database on SQLite: the Up sections of cfssl's own migrations
-- certdb/sqlite/migrations/001_CreateCertificates.sql and 002_AddMetadataToCertificates.sql
-- (github.com/cloudflare/cfssl at ed8df4971265, BSD-2-Clause), verbatim and in order.
-- bench/scenarios/s9 applies it with the sqlite3 CLI, after putting the file in WAL mode.
-- Debian's golang-cfssl is a 2016 snapshot that inserts only the first migration's eight
-- columns; the second migration's columns (nullable) stay NULL.

CREATE TABLE certificates (
  serial_number            blob NOT NULL,
  authority_key_identifier blob NOT NULL,
  ca_label                 blob,
  status                   blob NOT NULL,
  reason                   int,
  expiry                   timestamp,
  revoked_at               timestamp,
  pem                      blob NOT NULL,
  PRIMARY KEY(serial_number, authority_key_identifier)
);

CREATE TABLE ocsp_responses (
  serial_number            blob NOT NULL,
  authority_key_identifier blob NOT NULL,
  body                     blob NOT NULL,
  expiry                   timestamp,
  PRIMARY KEY(serial_number, authority_key_identifier),
  FOREIGN KEY(serial_number, authority_key_identifier) REFERENCES certificates(serial_number, authority_key_identifier)
);

ALTER TABLE certificates ADD COLUMN "issued_at" timestamp;
ALTER TABLE certificates ADD COLUMN "not_before" timestamp;
ALTER TABLE certificates ADD COLUMN "metadata" text;
ALTER TABLE certificates ADD COLUMN "sans" text;
ALTER TABLE certificates ADD COLUMN "common_name" text;
