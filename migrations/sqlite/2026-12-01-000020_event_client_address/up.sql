-- Where each entry of a request's trail came from: the client's address for what a user did
-- over HTTP (every retrieval of a secret names one); NULL for what the service did itself and
-- for the entries written before this column.
ALTER TABLE request_events ADD COLUMN client_address TEXT;
