-- The key leads the primary key, as on PostgreSQL (see its migration): a
-- lookup of a batch's keys probes by key whatever the statistics say.
CREATE TABLE idempotency_keys_new (
    scope         TEXT NOT NULL,
    key           TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    status_code   INTEGER NOT NULL,
    -- Empty when the answer was a created transfer: it is rendered again from
    -- the journal (`transfer_id`), which keeps every row of it anyway.
    response_body TEXT NOT NULL,
    location      TEXT,
    transfer_id   TEXT,
    created_at    TIMESTAMP NOT NULL,
    expires_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (key, scope)
);
INSERT INTO idempotency_keys_new SELECT scope, key, fingerprint, status_code, response_body,
    location, transfer_id, created_at, expires_at FROM idempotency_keys;
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_new RENAME TO idempotency_keys;
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
