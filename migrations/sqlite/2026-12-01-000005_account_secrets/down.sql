DROP TRIGGER account_secrets_erased_with_account;
DROP TABLE account_secrets;
