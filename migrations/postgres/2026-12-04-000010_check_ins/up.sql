-- Attendance at an event: a coordinator opens a check-in for an activity at
-- a community and shows its short-lived code; volunteers check in and out
-- with it from their own login; the coordinator confirms the list, and each
-- confirmed attendance becomes a service record. Attendance left
-- unconfirmed is never paid.
CREATE TABLE check_ins (
    id              TEXT PRIMARY KEY,
    -- Eight base-32 digits; only open check-ins are found by it.
    code            TEXT NOT NULL,
    activity_id     TEXT NOT NULL REFERENCES activities (id),
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    note            TEXT,
    opened_by       TEXT NOT NULL REFERENCES users (id),
    opened_at       TIMESTAMP NOT NULL,
    -- Volunteers check in until then; checking out stays open until the
    -- list is confirmed.
    code_expires_at TIMESTAMP NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('open', 'confirmed')),
    confirmed_by    TEXT REFERENCES users (id),
    confirmed_at    TIMESTAMP,
    CHECK (code_expires_at > opened_at),
    CHECK ((status = 'confirmed') = (confirmed_by IS NOT NULL)),
    CHECK ((confirmed_by IS NULL) = (confirmed_at IS NULL))
);
-- A code names one open check-in at a time.
CREATE UNIQUE INDEX check_ins_open_code ON check_ins (code) WHERE status = 'open';
CREATE INDEX check_ins_organisation ON check_ins (organisation_id, id);

CREATE TABLE attendances (
    check_in_id    TEXT NOT NULL REFERENCES check_ins (id),
    volunteer_id   TEXT NOT NULL REFERENCES volunteers (id),
    checked_in_at  TIMESTAMP NOT NULL,
    checked_out_at TIMESTAMP,
    -- Set by the confirmation: only a confirmed attendance is paid.
    confirmed      BOOLEAN NOT NULL,
    PRIMARY KEY (check_in_id, volunteer_id),
    CHECK (checked_out_at IS NULL OR checked_out_at >= checked_in_at)
);
CREATE INDEX attendances_volunteer ON attendances (volunteer_id);
