-- Per-user totals, kept by triggers in the same transaction as the row they count, so that the
-- My Requests dashboard and stats read a few counter rows instead of counting a user's requests
-- and certificates on every call (O(1) instead of O(rows of the user)). Triggers rather than
-- application code: every write path (and the bench seeder) is covered, with no way to forget one.
-- Concurrent writes by one user serialise on that user's counter row until commit.
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

CREATE FUNCTION count_requests() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE request_counts SET n = n - 1 WHERE requester_id = OLD.requester_id
            AND request_type = OLD.request_type AND status = OLD.status;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO request_counts (requester_id, request_type, status, n)
            VALUES (NEW.requester_id, NEW.request_type, NEW.status, 1)
            ON CONFLICT (requester_id, request_type, status)
            DO UPDATE SET n = request_counts.n + 1;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER requests_counted AFTER INSERT OR DELETE ON requests
    FOR EACH ROW EXECUTE FUNCTION count_requests();
CREATE TRIGGER requests_counted_on_update AFTER UPDATE OF status, requester_id, request_type ON requests
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.requester_id IS DISTINCT FROM NEW.requester_id
        OR OLD.request_type IS DISTINCT FROM NEW.request_type)
    EXECUTE FUNCTION count_requests();

CREATE TABLE certificate_counts (
    owner_id BIGINT PRIMARY KEY REFERENCES users (id),
    n BIGINT NOT NULL
);
INSERT INTO certificate_counts (owner_id, n)
    SELECT owner_id, count(*) FROM certificates GROUP BY owner_id;

CREATE FUNCTION count_certificates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE certificate_counts SET n = n - 1 WHERE owner_id = OLD.owner_id;
    ELSE
        INSERT INTO certificate_counts (owner_id, n) VALUES (NEW.owner_id, 1)
            ON CONFLICT (owner_id) DO UPDATE SET n = certificate_counts.n + 1;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER certificates_counted AFTER INSERT OR DELETE ON certificates
    FOR EACH ROW EXECUTE FUNCTION count_certificates();

-- Active certificates (not revoked, not yet expired) without counting them: unrevoked
-- certificates per owner and expiry day (UTC). Active now = the days after today, summed (at
-- most one row per day of the longest validity), plus today's few that expire later today.
CREATE TABLE certificate_expiry_counts (
    owner_id BIGINT NOT NULL REFERENCES users (id),
    expires_on DATE NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (owner_id, expires_on)
);
INSERT INTO certificate_expiry_counts (owner_id, expires_on, n)
    SELECT owner_id, valid_until::date, count(*) FROM certificates WHERE revoked_at IS NULL
    GROUP BY owner_id, valid_until::date;

CREATE FUNCTION count_certificate_expiry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.revoked_at IS NULL THEN
        UPDATE certificate_expiry_counts SET n = n - 1
            WHERE owner_id = OLD.owner_id AND expires_on = OLD.valid_until::date;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.revoked_at IS NULL THEN
        INSERT INTO certificate_expiry_counts (owner_id, expires_on, n)
            VALUES (NEW.owner_id, NEW.valid_until::date, 1)
            ON CONFLICT (owner_id, expires_on) DO UPDATE SET n = certificate_expiry_counts.n + 1;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER certificates_expiry_counted AFTER INSERT OR DELETE ON certificates
    FOR EACH ROW EXECUTE FUNCTION count_certificate_expiry();
CREATE TRIGGER certificates_expiry_counted_on_update
    AFTER UPDATE OF revoked_at, valid_until, owner_id ON certificates
    FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.valid_until IS DISTINCT FROM NEW.valid_until
        OR OLD.owner_id IS DISTINCT FROM NEW.owner_id)
    EXECUTE FUNCTION count_certificate_expiry();
