DROP TABLE safe_members;
DROP TABLE safe_accounts;
DROP TABLE safes;
