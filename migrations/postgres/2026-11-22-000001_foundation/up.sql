-- Foundation: organisations, users, ledgers, accounts, the append-only journal,
-- idempotency records and service settings.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE organisations (
    id         TEXT PRIMARY KEY,
    parent_id  TEXT REFERENCES organisations (id),
    -- '/root-id/.../own-id/': a subtree is every path starting with its root's.
    path       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX organisations_parent ON organisations (parent_id, id);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    -- The `sub` of an external identity provider's tokens for this person.
    external_subject TEXT UNIQUE,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);

CREATE TABLE role_grants (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id),
    role            TEXT NOT NULL CHECK (role IN ('admin', 'coordinator', 'partner_staff', 'auditor', 'volunteer')),
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    created_at      TIMESTAMP NOT NULL,
    UNIQUE (user_id, role, organisation_id)
);
CREATE INDEX role_grants_organisation ON role_grants (organisation_id);

CREATE TABLE ledgers (
    id                  TEXT PRIMARY KEY,
    code                TEXT NOT NULL UNIQUE,
    name                TEXT NOT NULL,
    asset_scale         INTEGER NOT NULL CHECK (asset_scale BETWEEN 0 AND 8),
    organisation_id     TEXT NOT NULL REFERENCES organisations (id),
    issuance_account_id TEXT,
    last_sequence       BIGINT NOT NULL DEFAULT 0,
    last_hash           TEXT NOT NULL,
    last_recorded_at    TIMESTAMP,
    created_at          TIMESTAMP NOT NULL
);

CREATE TABLE accounts (
    id              TEXT PRIMARY KEY,
    ledger_id       TEXT NOT NULL REFERENCES ledgers (id),
    -- Whose account it is: decides who may see and move it.
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    kind            TEXT NOT NULL CHECK (kind IN ('volunteer', 'partner', 'issuance', 'community_fund', 'expiry', 'settlement')),
    name            TEXT NOT NULL,
    no_overdraft    BOOLEAN NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('open', 'frozen', 'closed')),
    debits_posted   BIGINT NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
    credits_posted  BIGINT NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
    debits_pending  BIGINT NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
    credits_pending BIGINT NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
    version         BIGINT NOT NULL DEFAULT 0,
    external_ref    TEXT,
    created_at      TIMESTAMP NOT NULL,
    UNIQUE (id, ledger_id),
    -- Last line of defence for invariant 4: the engine refuses first.
    CHECK (NOT no_overdraft OR debits_posted + debits_pending <= credits_posted)
);
CREATE INDEX accounts_ledger ON accounts (ledger_id, id);
CREATE INDEX accounts_organisation ON accounts (organisation_id, id);

CREATE TABLE transfers (
    id           TEXT PRIMARY KEY,
    ledger_id    TEXT NOT NULL REFERENCES ledgers (id),
    sequence     BIGINT NOT NULL CHECK (sequence > 0),
    kind         TEXT NOT NULL,
    phase        TEXT NOT NULL CHECK (phase IN ('posted', 'pending', 'post_pending', 'void_pending')),
    pending_id   TEXT REFERENCES transfers (id),
    reverses_id  TEXT REFERENCES transfers (id),
    timeout_at   TIMESTAMP,
    external_ref TEXT,
    description  TEXT,
    metadata     TEXT,
    actor_id     TEXT NOT NULL,
    on_behalf_of TEXT,
    event_time   TIMESTAMP NOT NULL,
    recorded_at  TIMESTAMP NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL,
    UNIQUE (ledger_id, sequence),
    UNIQUE (id, ledger_id)
);
CREATE INDEX transfers_pending_timeout ON transfers (timeout_at) WHERE phase = 'pending';
-- A hold is settled once and a transfer reversed once. Partial, so the many
-- transfers without either add nothing to these indexes.
CREATE UNIQUE INDEX transfers_settles_once ON transfers (pending_id) WHERE pending_id IS NOT NULL;
CREATE UNIQUE INDEX transfers_reversed_once ON transfers (reverses_id) WHERE reverses_id IS NOT NULL;
CREATE INDEX transfers_external_ref ON transfers (ledger_id, external_ref) WHERE external_ref IS NOT NULL;

CREATE TABLE postings (
    transfer_id     TEXT NOT NULL,
    leg             INTEGER NOT NULL CHECK (leg >= 0),
    ledger_id       TEXT NOT NULL,
    account_id      TEXT NOT NULL,
    direction       TEXT NOT NULL CHECK (direction IN ('debit', 'credit')),
    amount          BIGINT NOT NULL CHECK (amount > 0),
    pending         BOOLEAN NOT NULL,
    balance_after   BIGINT NOT NULL,
    account_version BIGINT NOT NULL,
    recorded_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (transfer_id, leg),
    -- Statements page through this; balance-as-of binary-searches it, since an
    -- account's postings are recorded in version order. (An index on
    -- (account_id, recorded_at) would cost every posting a random page write.)
    UNIQUE (account_id, account_version),
    -- Both keys carry the ledger: a posting cannot join an account of another ledger.
    FOREIGN KEY (transfer_id, ledger_id) REFERENCES transfers (id, ledger_id),
    FOREIGN KEY (account_id, ledger_id) REFERENCES accounts (id, ledger_id)
);

CREATE TABLE idempotency_keys (
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
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

-- Invariant 2: the journal is append-only, enforced by the database itself.
CREATE FUNCTION timebank_refuse_journal_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'journal is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER transfers_append_only BEFORE UPDATE OR DELETE ON transfers
    FOR EACH ROW EXECUTE FUNCTION timebank_refuse_journal_change();
CREATE TRIGGER transfers_no_truncate BEFORE TRUNCATE ON transfers
    FOR EACH STATEMENT EXECUTE FUNCTION timebank_refuse_journal_change();
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON postings
    FOR EACH ROW EXECUTE FUNCTION timebank_refuse_journal_change();
CREATE TRIGGER postings_no_truncate BEFORE TRUNCATE ON postings
    FOR EACH STATEMENT EXECUTE FUNCTION timebank_refuse_journal_change();
