-- Service above the scheme's thresholds waits for a second person: it is
-- recorded and priced as `pending_approval`, with no transfer yet, and is
-- paid when someone other than its recorder approves it (`credited`) or
-- never, when rejected (`rejected`).
ALTER TABLE service_records ALTER COLUMN transfer_id DROP NOT NULL;
ALTER TABLE service_records DROP CONSTRAINT service_records_status_check;
ALTER TABLE service_records ADD CONSTRAINT service_records_status_check
    CHECK (status IN ('credited', 'reversed', 'pending_approval', 'rejected'));
-- Why the record waited (NULL: credited at once).
ALTER TABLE service_records ADD COLUMN approval_reason TEXT;
ALTER TABLE service_records ADD COLUMN decided_by TEXT REFERENCES users (id);
ALTER TABLE service_records ADD COLUMN decided_at TIMESTAMP;
ALTER TABLE service_records ADD COLUMN decision_note TEXT;
-- Paid exactly when its status says so.
ALTER TABLE service_records ADD CONSTRAINT service_records_paid_check
    CHECK ((transfer_id IS NULL) = (status IN ('pending_approval', 'rejected')));
-- The second person is never the first.
ALTER TABLE service_records ADD CONSTRAINT service_records_second_person_check
    CHECK (decided_by IS NULL OR decided_by <> recorded_by);
ALTER TABLE service_records ADD CONSTRAINT service_records_decided_check
    CHECK ((decided_by IS NULL) = (decided_at IS NULL));
-- What waits for approval, by where it was done.
CREATE INDEX service_records_pending ON service_records (organisation_id, id)
    WHERE status = 'pending_approval';
