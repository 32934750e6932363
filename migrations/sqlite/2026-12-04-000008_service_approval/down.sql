-- Records that never got a transfer cannot live in the older shape.
CREATE TABLE service_records_rebuilt (
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
INSERT INTO service_records_rebuilt (id, client_id, volunteer_id, activity_id, organisation_id, ledger_id, started_at, ended_at, minutes, points, rule_id, status, transfer_id, recorded_by, note, created_at)
    SELECT id, client_id, volunteer_id, activity_id, organisation_id, ledger_id, started_at, ended_at, minutes, points, rule_id, status, transfer_id, recorded_by, note, created_at FROM service_records WHERE transfer_id IS NOT NULL;
DROP TABLE service_records;
ALTER TABLE service_records_rebuilt RENAME TO service_records;
CREATE INDEX service_records_volunteer ON service_records (volunteer_id, started_at);
CREATE INDEX service_records_organisation ON service_records (organisation_id, id);
