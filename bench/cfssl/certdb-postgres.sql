-- cfssl's certificate database on PostgreSQL: the Up sections of cfssl's own migrations
-- certdb/pg/migrations/001_CreateCertificates.sql and 002_AddMetadataToCertificates.sql
-- (github.com/cloudflare/cfssl at ed8df4971265, BSD-2-Clause), verbatim and in order.
-- bench/scenarios/s9 applies it with psql, to a database of its own.
-- Debian's golang-cfssl is a 2016 snapshot that inserts only the first migration's eight
-- columns; the second migration's columns (nullable) stay NULL.

CREATE TABLE certificates (
  serial_number            bytea NOT NULL,
  authority_key_identifier bytea NOT NULL,
  ca_label                 bytea,
  status                   bytea NOT NULL,
  reason                   int,
  expiry                   timestamptz,
  revoked_at               timestamptz,
  pem                      bytea NOT NULL,
  PRIMARY KEY(serial_number, authority_key_identifier)
);

CREATE TABLE ocsp_responses (
  serial_number            bytea NOT NULL,
  authority_key_identifier bytea NOT NULL,
  body                     bytea NOT NULL,
  expiry                   timestamptz,
  PRIMARY KEY(serial_number, authority_key_identifier),
  FOREIGN KEY(serial_number, authority_key_identifier) REFERENCES certificates(serial_number, authority_key_identifier)
);

ALTER TABLE certificates
ADD COLUMN issued_at timestamptz,
    ADD COLUMN not_before timestamptz,
    ADD COLUMN metadata jsonb,
    ADD COLUMN sans jsonb,
    ADD COLUMN common_name TEXT;
