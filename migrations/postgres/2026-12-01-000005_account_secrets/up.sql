-- An account's secret, sealed (see src/secrets): never plaintext. One row per account at most;
-- a replaced secret overwrites its row. key_id names the master key that wraps the data key.
CREATE TABLE account_secrets (
    account_id BIGINT PRIMARY KEY NOT NULL REFERENCES safe_accounts (id) ON DELETE CASCADE,
    key_id TEXT NOT NULL,
    wrapped_key BYTEA NOT NULL,
    key_nonce BYTEA NOT NULL,
    secret_nonce BYTEA NOT NULL,
    ciphertext BYTEA NOT NULL,
    secret_type TEXT NOT NULL CHECK (secret_type IN ('password', 'key')),
    updated_at TIMESTAMP NOT NULL
);
-- The rotation walks the rows still under an old key.
CREATE INDEX account_secrets_key_idx ON account_secrets (key_id);
-- Accounts are deleted softly (their requests keep their history); their secrets go at once.
CREATE FUNCTION erase_account_secret() RETURNS trigger AS $$
BEGIN
    DELETE FROM account_secrets WHERE account_id = NEW.id;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER account_secrets_erased_with_account
AFTER UPDATE OF deleted_at ON safe_accounts
FOR EACH ROW WHEN (NEW.deleted_at IS NOT NULL)
EXECUTE FUNCTION erase_account_secret();
