-- PVWA bulk decisions (IncomingRequests/Confirm/Bulk, /Reject/Bulk): decided when posted, each
-- item with the same rules as a single decision; the outcome is kept here so that
-- GET /API/bulkactions/{id} answers it on any instance. Only its author reads it.
CREATE TABLE bulk_actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    outcome TEXT NOT NULL
);
