-- Service above the scheme's thresholds waits for a second person: it is
-- recorded and priced as `pending_approval`, with no transfer yet, and is
-- paid when someone other than its recorder approves it (`credited`) or
-- never, when rejected (`rejected`). SQLite changes a column's NOT NULL and
-- a CHECK only by rebuilding the table; nothing refers to it yet.
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
    status          TEXT NOT NULL CHECK (status IN ('credited', 'reversed', 'pending_approval', 'rejected')),
    transfer_id     TEXT UNIQUE REFERENCES transfers (id),
    recorded_by     TEXT NOT NULL REFERENCES users (id),
    note            TEXT,
    created_at      TIMESTAMP NOT NULL,
    -- Why the record waited (NULL: credited at once).
    approval_reason TEXT,
    decided_by      TEXT REFERENCES users (id),
    decided_at      TIMESTAMP,
    decision_note   TEXT,
    CHECK (ended_at > started_at),
    -- Paid exactly when its status says so.
    CHECK ((transfer_id IS NULL) = (status IN ('pending_approval', 'rejected'))),
    -- The second person is never the first.
    CHECK (decided_by IS NULL OR decided_by <> recorded_by),
    CHECK ((decided_by IS NULL) = (decided_at IS NULL))
);
INSERT INTO service_records_rebuilt (id, client_id, volunteer_id, activity_id, organisation_id, ledger_id, started_at, ended_at, minutes, points, rule_id, status, transfer_id, recorded_by, note, created_at)
    SELECT id, client_id, volunteer_id, activity_id, organisation_id, ledger_id, started_at, ended_at, minutes, points, rule_id, status, transfer_id, recorded_by, note, created_at FROM service_records;
DROP TABLE service_records;
ALTER TABLE service_records_rebuilt RENAME TO service_records;
CREATE INDEX service_records_volunteer ON service_records (volunteer_id, started_at);
CREATE INDEX service_records_organisation ON service_records (organisation_id, id);
-- What waits for approval, by where it was done.
CREATE INDEX service_records_pending ON service_records (organisation_id, id)
    WHERE status = 'pending_approval';
