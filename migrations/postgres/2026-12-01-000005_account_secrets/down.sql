DROP TRIGGER account_secrets_erased_with_account ON safe_accounts;
DROP FUNCTION erase_account_secret();
DROP TABLE account_secrets;
