-- Safes hold privileged accounts; their members may request access or confirm requests, level
-- by level. A role acts as a group. Nothing secret is stored.
CREATE TABLE safes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    description TEXT NOT NULL,
    level1_confirmations INTEGER NOT NULL,
    level2_confirmations INTEGER NOT NULL,
    request_expiry_hours INTEGER NOT NULL,
    max_access_hours INTEGER NOT NULL,
    ticket_required BOOLEAN NOT NULL,
    policy_version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP
);
CREATE UNIQUE INDEX safes_name_key_idx ON safes (name_key) WHERE deleted_at IS NULL;

CREATE TABLE safe_accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    safe_id BIGINT NOT NULL REFERENCES safes (id),
    name TEXT NOT NULL,
    folder TEXT NOT NULL,
    address TEXT NOT NULL,
    user_name TEXT NOT NULL,
    last_used_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP
);
CREATE INDEX safe_accounts_safe_idx ON safe_accounts (safe_id, name);

CREATE TABLE safe_members (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    safe_id BIGINT NOT NULL REFERENCES safes (id),
    user_id BIGINT REFERENCES users (id),
    group_role TEXT,
    can_request BOOLEAN NOT NULL,
    confirm_level INTEGER,
    created_at TIMESTAMP NOT NULL,
    CHECK ((user_id IS NULL) <> (group_role IS NULL)),
    CHECK (confirm_level IS NULL OR confirm_level IN (1, 2))
);
CREATE UNIQUE INDEX safe_members_user_idx ON safe_members (safe_id, user_id) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX safe_members_group_idx ON safe_members (safe_id, group_role) WHERE group_role IS NOT NULL;
CREATE INDEX safe_members_by_user_idx ON safe_members (user_id);
CREATE INDEX safe_members_by_group_idx ON safe_members (group_role);
