DROP INDEX certificates_compromised_key_idx;
DROP INDEX certificates_revoked_idx;
CREATE INDEX certificates_key_idx ON certificates (public_key_fingerprint);
CREATE INDEX certificates_revoked_idx ON certificates (revoked_at) WHERE source = 'issued';
