-- The request engine: one row per request of any type, the decisions taken on it, and an
-- append-only trail of events. Certificates issued by the CA or imported by their owners.
CREATE TABLE requests (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_type TEXT NOT NULL CHECK (request_type IN ('certificate', 'access')),
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'expired', 'invalid')),
    requester_id BIGINT NOT NULL REFERENCES users (id),
    reason TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    approved_at TIMESTAMP,
    rejected_at TIMESTAMP,
    rejection_reason TEXT,
    current_level INTEGER NOT NULL DEFAULT 1,
    confirmations_required INTEGER NOT NULL,
    confirmations_given INTEGER NOT NULL DEFAULT 0,
    requester_email TEXT NOT NULL,
    csr_pem TEXT,
    common_name TEXT,
    subject_alt_names TEXT,
    key_algorithm TEXT,
    public_key_fingerprint TEXT,
    validity_days INTEGER,
    certificate_id BIGINT,
    -- Privileged access requests: the account, the window, and how the request was decided.
    -- invalid_flags holds PVWA's InvalidRequestReason bits that were set by an event.
    safe_id BIGINT,
    account_id BIGINT,
    access_type TEXT,
    operation_type TEXT,
    access_from TIMESTAMP,
    access_to TIMESTAMP,
    ticketing_system TEXT,
    ticket_id TEXT,
    reference_no TEXT,
    emergency BOOLEAN,
    policy_version INTEGER,
    level2_required INTEGER NOT NULL DEFAULT 0,
    level2_given INTEGER NOT NULL DEFAULT 0,
    invalid_flags INTEGER NOT NULL DEFAULT 0,
    use_count INTEGER NOT NULL DEFAULT 0,
    last_used_at TIMESTAMP
);
CREATE INDEX requests_requester_created_idx ON requests (requester_id, created_at DESC, id DESC);
CREATE INDEX requests_requester_status_idx ON requests (requester_id, status, expires_at);
-- Stats count access requests whose window is over without reading every row of a status.
CREATE INDEX requests_requester_window_idx ON requests (requester_id, status, access_to) WHERE access_to IS NOT NULL;
CREATE INDEX requests_status_created_idx ON requests (status, created_at DESC, id DESC);
CREATE UNIQUE INDEX requests_pending_key_idx ON requests (public_key_fingerprint) WHERE status = 'pending';
CREATE INDEX requests_account_idx ON requests (account_id, status) WHERE account_id IS NOT NULL;
CREATE INDEX requests_safe_status_idx ON requests (safe_id, status) WHERE safe_id IS NOT NULL;

CREATE TABLE request_decisions (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id BIGINT NOT NULL REFERENCES requests (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    decision TEXT NOT NULL CHECK (decision IN ('confirm', 'reject')),
    reason TEXT,
    level INTEGER NOT NULL,
    -- Set when the user acted for a group (a role): the group then counts once.
    group_role TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX request_decisions_once_idx ON request_decisions (request_id, user_id);
CREATE UNIQUE INDEX request_decisions_group_once_idx ON request_decisions (request_id, level, group_role) WHERE group_role IS NOT NULL;
CREATE INDEX request_decisions_user_idx ON request_decisions (user_id);

CREATE TABLE request_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id BIGINT NOT NULL REFERENCES requests (id),
    actor_id BIGINT REFERENCES users (id),
    event TEXT NOT NULL,
    detail TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX request_events_request_idx ON request_events (request_id, id);

CREATE TABLE certificates (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id BIGINT NOT NULL REFERENCES users (id),
    request_id BIGINT REFERENCES requests (id),
    source TEXT NOT NULL CHECK (source IN ('issued', 'imported')),
    serial_number TEXT NOT NULL,
    common_name TEXT,
    subject_alt_names TEXT NOT NULL,
    issuer TEXT NOT NULL,
    pem TEXT NOT NULL,
    fingerprint_sha256 TEXT NOT NULL,
    public_key_fingerprint TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    valid_from TIMESTAMP NOT NULL,
    valid_until TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    revocation_reason TEXT,
    requester_email TEXT,
    uploaded_by TEXT
);
CREATE INDEX certificates_owner_created_idx ON certificates (owner_id, created_at DESC, id DESC);
CREATE INDEX certificates_owner_validity_idx ON certificates (owner_id, revoked_at, valid_until);
CREATE UNIQUE INDEX certificates_issued_serial_idx ON certificates (serial_number) WHERE source = 'issued';
CREATE UNIQUE INDEX certificates_owner_fingerprint_idx ON certificates (owner_id, fingerprint_sha256);
CREATE INDEX certificates_key_idx ON certificates (public_key_fingerprint);
CREATE INDEX certificates_revoked_idx ON certificates (revoked_at) WHERE source = 'issued';
