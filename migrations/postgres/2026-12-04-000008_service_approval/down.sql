-- Records that never got a transfer cannot live in the older shape.
DELETE FROM service_records WHERE transfer_id IS NULL;
DROP INDEX service_records_pending;
ALTER TABLE service_records DROP CONSTRAINT service_records_decided_check;
ALTER TABLE service_records DROP CONSTRAINT service_records_second_person_check;
ALTER TABLE service_records DROP CONSTRAINT service_records_paid_check;
ALTER TABLE service_records DROP COLUMN decision_note;
ALTER TABLE service_records DROP COLUMN decided_at;
ALTER TABLE service_records DROP COLUMN decided_by;
ALTER TABLE service_records DROP COLUMN approval_reason;
ALTER TABLE service_records DROP CONSTRAINT service_records_status_check;
ALTER TABLE service_records ADD CONSTRAINT service_records_status_check
    CHECK (status IN ('credited', 'reversed'));
ALTER TABLE service_records ALTER COLUMN transfer_id SET NOT NULL;
