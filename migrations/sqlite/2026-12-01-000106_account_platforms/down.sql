ALTER TABLE safe_accounts DROP COLUMN platform_id;
