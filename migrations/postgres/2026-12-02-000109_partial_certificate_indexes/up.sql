-- Issue 13 (S9): a certificate just issued is neither revoked nor compromised, so it need not
-- enter the indexes that only revocations are looked up by. Partial, these two are written when
-- a certificate is revoked, not each time one is issued: an issuing writes four indexes, not six.
-- Their queries name the conditions as literals (db::values::stored_literal), so both databases
-- use them with prepared statements.
DROP INDEX certificates_key_idx;
DROP INDEX certificates_revoked_idx;
CREATE INDEX certificates_compromised_key_idx ON certificates (public_key_fingerprint)
    WHERE source = 'issued' AND revocation_reason = 'key_compromise';
CREATE INDEX certificates_revoked_idx ON certificates (revoked_at)
    WHERE source = 'issued' AND revoked_at IS NOT NULL;
