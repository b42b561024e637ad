-- Per-user totals, kept by triggers in the same transaction as the row they count, so that the
-- My Requests dashboard and stats read a few counter rows instead of counting a user's requests
-- and certificates on every call (O(1) instead of O(rows of the user)). Triggers rather than
-- application code: every write path (and the bench seeder) is covered, with no way to forget one.
CREATE TABLE request_counts (
    requester_id BIGINT NOT NULL REFERENCES users (id),
    request_type TEXT NOT NULL,
    status TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (requester_id, request_type, status)
);
INSERT INTO request_counts (requester_id, request_type, status, n)
    SELECT requester_id, request_type, status, count(*) FROM requests
    GROUP BY requester_id, request_type, status;

CREATE TRIGGER requests_counted_on_insert AFTER INSERT ON requests BEGIN
    INSERT INTO request_counts (requester_id, request_type, status, n)
        VALUES (NEW.requester_id, NEW.request_type, NEW.status, 1)
        ON CONFLICT (requester_id, request_type, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER requests_counted_on_update AFTER UPDATE OF status, requester_id, request_type ON requests
WHEN OLD.status <> NEW.status OR OLD.requester_id <> NEW.requester_id
    OR OLD.request_type <> NEW.request_type
BEGIN
    UPDATE request_counts SET n = n - 1 WHERE requester_id = OLD.requester_id
        AND request_type = OLD.request_type AND status = OLD.status;
    INSERT INTO request_counts (requester_id, request_type, status, n)
        VALUES (NEW.requester_id, NEW.request_type, NEW.status, 1)
        ON CONFLICT (requester_id, request_type, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER requests_counted_on_delete AFTER DELETE ON requests BEGIN
    UPDATE request_counts SET n = n - 1 WHERE requester_id = OLD.requester_id
        AND request_type = OLD.request_type AND status = OLD.status;
END;

CREATE TABLE certificate_counts (
    owner_id BIGINT PRIMARY KEY NOT NULL REFERENCES users (id),
    n BIGINT NOT NULL
);
INSERT INTO certificate_counts (owner_id, n)
    SELECT owner_id, count(*) FROM certificates GROUP BY owner_id;

CREATE TRIGGER certificates_counted_on_insert AFTER INSERT ON certificates BEGIN
    INSERT INTO certificate_counts (owner_id, n) VALUES (NEW.owner_id, 1)
        ON CONFLICT (owner_id) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER certificates_counted_on_delete AFTER DELETE ON certificates BEGIN
    UPDATE certificate_counts SET n = n - 1 WHERE owner_id = OLD.owner_id;
END;

-- Active certificates (not revoked, not yet expired) without counting them: unrevoked
-- certificates per owner and expiry day. Active now = the days after today, summed (at most one
-- row per day of the longest validity), plus today's few that expire later today, counted.
CREATE TABLE certificate_expiry_counts (
    owner_id BIGINT NOT NULL REFERENCES users (id),
    expires_on DATE NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (owner_id, expires_on)
);
INSERT INTO certificate_expiry_counts (owner_id, expires_on, n)
    SELECT owner_id, date(valid_until), count(*) FROM certificates WHERE revoked_at IS NULL
    GROUP BY owner_id, date(valid_until);

CREATE TRIGGER certificates_expiry_counted_on_insert AFTER INSERT ON certificates
WHEN NEW.revoked_at IS NULL
BEGIN
    INSERT INTO certificate_expiry_counts (owner_id, expires_on, n)
        VALUES (NEW.owner_id, date(NEW.valid_until), 1)
        ON CONFLICT (owner_id, expires_on) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER certificates_expiry_uncounted_on_update
AFTER UPDATE OF revoked_at, valid_until, owner_id ON certificates
WHEN OLD.revoked_at IS NULL AND (NEW.revoked_at IS NOT NULL OR OLD.valid_until IS NOT NEW.valid_until
    OR OLD.owner_id IS NOT NEW.owner_id)
BEGIN
    UPDATE certificate_expiry_counts SET n = n - 1
        WHERE owner_id = OLD.owner_id AND expires_on = date(OLD.valid_until);
END;
CREATE TRIGGER certificates_expiry_counted_on_update
AFTER UPDATE OF revoked_at, valid_until, owner_id ON certificates
WHEN NEW.revoked_at IS NULL AND (OLD.revoked_at IS NOT NULL OR OLD.valid_until IS NOT NEW.valid_until
    OR OLD.owner_id IS NOT NEW.owner_id)
BEGIN
    INSERT INTO certificate_expiry_counts (owner_id, expires_on, n)
        VALUES (NEW.owner_id, date(NEW.valid_until), 1)
        ON CONFLICT (owner_id, expires_on) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER certificates_expiry_uncounted_on_delete AFTER DELETE ON certificates
WHEN OLD.revoked_at IS NULL
BEGIN
    UPDATE certificate_expiry_counts SET n = n - 1
        WHERE owner_id = OLD.owner_id AND expires_on = date(OLD.valid_until);
END;
