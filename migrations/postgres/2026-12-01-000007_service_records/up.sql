-- Volunteer service: what people do (activities), how it is priced (earning
-- rules, versioned), and what was done (service records, each paid by one
-- transfer of the journal). Hours are a tally of their own: spending points
-- never lowers them.

-- An activity belongs to an organisation and may be recorded anywhere under it.
CREATE TABLE activities (
    id              TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    name            TEXT NOT NULL,
    -- Earning rules price by category (`elderly_care`, `general`, ...).
    category        TEXT NOT NULL,
    active          BOOLEAN NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    UNIQUE (organisation_id, name)
);

-- One version of the rule for a category of a ledger (`*`: every category
-- without its own rule). A change is a new version from its start time on;
-- versions are never edited, so the past is never repriced.
CREATE TABLE earning_rules (
    id                     TEXT PRIMARY KEY,
    ledger_id              TEXT NOT NULL REFERENCES ledgers (id),
    category               TEXT NOT NULL,
    version                INTEGER NOT NULL CHECK (version > 0),
    -- Minor units of the ledger per hour.
    points_per_hour        BIGINT NOT NULL CHECK (points_per_hour > 0),
    min_unit_minutes       INTEGER NOT NULL CHECK (min_unit_minutes BETWEEN 1 AND 1440),
    max_minutes_per_day    INTEGER NOT NULL CHECK (max_minutes_per_day BETWEEN 1 AND 1440),
    max_minutes_per_record INTEGER NOT NULL CHECK (max_minutes_per_record BETWEEN 1 AND 1440),
    -- A campaign: service inside [campaign_from, campaign_until) earns
    -- multiplier_percent / 100 times the points.
    multiplier_percent     INTEGER NOT NULL CHECK (multiplier_percent BETWEEN 100 AND 1000),
    campaign_from          TIMESTAMP,
    campaign_until         TIMESTAMP,
    effective_from         TIMESTAMP NOT NULL,
    created_by             TEXT NOT NULL REFERENCES users (id),
    created_at             TIMESTAMP NOT NULL,
    UNIQUE (ledger_id, category, version),
    CHECK ((campaign_from IS NULL) = (campaign_until IS NULL)),
    CHECK (campaign_until IS NULL OR campaign_until > campaign_from)
);

CREATE TABLE service_records (
    id              TEXT PRIMARY KEY,
    -- The recording client's own id for the record (offline sync): a record
    -- sent twice is found by it and never credited twice.
    client_id       TEXT UNIQUE,
    volunteer_id    TEXT NOT NULL REFERENCES volunteers (id),
    activity_id     TEXT NOT NULL REFERENCES activities (id),
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    ledger_id       TEXT NOT NULL REFERENCES ledgers (id),
    started_at      TIMESTAMP NOT NULL,
    ended_at        TIMESTAMP NOT NULL,
    -- Minutes credited: the duration in whole units of the rule's minimum.
    minutes         INTEGER NOT NULL CHECK (minutes > 0),
    points          BIGINT NOT NULL CHECK (points > 0),
    -- NULL: priced by the scheme's defaults.
    rule_id         TEXT REFERENCES earning_rules (id),
    status          TEXT NOT NULL CHECK (status IN ('credited', 'reversed')),
    transfer_id     TEXT NOT NULL UNIQUE REFERENCES transfers (id),
    recorded_by     TEXT NOT NULL REFERENCES users (id),
    note            TEXT,
    created_at      TIMESTAMP NOT NULL,
    CHECK (ended_at > started_at)
);
-- Overlap and daily-cap checks read a volunteer's records by start time.
CREATE INDEX service_records_volunteer ON service_records (volunteer_id, started_at);
CREATE INDEX service_records_organisation ON service_records (organisation_id, id);
