-- A key's record keeps what the act answered, not how HTTP said it: `outcome`
-- is 'done' or 'refused' and the body is the typed outcome (or the problem);
-- status and Location are the http layer's to render again on replay.
CREATE TABLE idempotency_keys_new (
    scope         TEXT NOT NULL,
    key           TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    outcome       TEXT NOT NULL CHECK (outcome IN ('done', 'refused')),
    -- Empty when the answer was a created transfer: it is rendered again from
    -- the journal (`transfer_id`), which keeps every row of it anyway.
    response_body TEXT NOT NULL,
    transfer_id   TEXT,
    created_at    TIMESTAMP NOT NULL,
    expires_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (key, scope)
);
INSERT INTO idempotency_keys_new SELECT scope, key, fingerprint,
    CASE WHEN status_code >= 400 THEN 'refused' ELSE 'done' END, response_body,
    transfer_id, created_at, expires_at FROM idempotency_keys;
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_new RENAME TO idempotency_keys;
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
