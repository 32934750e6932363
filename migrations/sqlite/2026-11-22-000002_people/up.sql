-- People and access: login sessions and their refresh tokens, failed-login
-- throttling, the audit log of every change outside the ledger, and volunteers.

-- A session is one login: the family every rotated refresh token belongs to.
-- Revoking it ends its refresh tokens and the access tokens issued under it.
CREATE TABLE sessions (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users (id),
    created_at     TIMESTAMP NOT NULL,
    expires_at     TIMESTAMP NOT NULL,
    revoked_at     TIMESTAMP,
    revoked_reason TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Only a SHA-256 of each refresh token is kept: a dump cannot be replayed.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id),
    issued_at  TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Failed logins per bucket ('user:<name>' or 'address:<ip>') in a fixed
-- window. In the database, so every instance counts the same failures.
CREATE TABLE login_throttle (
    bucket       TEXT PRIMARY KEY,
    window_start TIMESTAMP NOT NULL,
    failures     INTEGER NOT NULL
);

CREATE TABLE audit_log (
    id              TEXT PRIMARY KEY,
    at              TIMESTAMP NOT NULL,
    -- NULL for the service itself (first start, bootstrap from the command line).
    actor_id        TEXT,
    action          TEXT NOT NULL,
    entity_type     TEXT NOT NULL,
    entity_id       TEXT NOT NULL,
    -- Where the change happened, for scoping who may read it.
    organisation_id TEXT REFERENCES organisations (id),
    before          TEXT,
    after           TEXT
);
CREATE INDEX audit_log_entity ON audit_log (entity_type, entity_id, id);
CREATE INDEX audit_log_actor ON audit_log (actor_id, id);

CREATE TABLE volunteers (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    -- HMAC-SHA256 of the normalised number under the service's pepper, so a
    -- search by phone works and a dump does not list numbers.
    phone_hash          TEXT NOT NULL,
    -- The last four digits, to tell people apart on screen.
    phone_last4         TEXT NOT NULL,
    organisation_id     TEXT NOT NULL REFERENCES organisations (id),
    card_number         TEXT UNIQUE,
    pin_hash            TEXT,
    leaderboard_consent BOOLEAN NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'left')),
    account_id          TEXT NOT NULL UNIQUE REFERENCES accounts (id),
    user_id             TEXT UNIQUE REFERENCES users (id),
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);
CREATE INDEX volunteers_phone ON volunteers (phone_hash);
CREATE INDEX volunteers_organisation ON volunteers (organisation_id, id);

-- The audit log is append-only, like the journal.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit log is append-only: UPDATE refused'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit log is append-only: DELETE refused'); END;
