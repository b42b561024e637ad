-- The platform an account belongs to, as PVWA clients name it (Add-PASAccount's platformID).
-- Empty for accounts created without one.
ALTER TABLE safe_accounts ADD COLUMN platform_id TEXT NOT NULL DEFAULT '';
