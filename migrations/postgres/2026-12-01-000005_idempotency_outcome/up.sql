-- A key's record keeps what the act answered, not how HTTP said it: `outcome`
-- is 'done' or 'refused' and the body is the typed outcome (or the problem);
-- status and Location are the http layer's to render again on replay.
ALTER TABLE idempotency_keys ADD COLUMN outcome TEXT;
UPDATE idempotency_keys SET outcome = CASE WHEN status_code >= 400 THEN 'refused' ELSE 'done' END;
ALTER TABLE idempotency_keys ALTER COLUMN outcome SET NOT NULL;
ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_outcome_check
    CHECK (outcome IN ('done', 'refused'));
ALTER TABLE idempotency_keys DROP COLUMN status_code;
ALTER TABLE idempotency_keys DROP COLUMN location;
