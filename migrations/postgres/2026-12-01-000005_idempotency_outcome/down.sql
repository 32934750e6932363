-- Location is not kept in the new records; a replay after going back answers
-- without it. Status comes back from the outcome and the kind of answer.
ALTER TABLE idempotency_keys ADD COLUMN status_code INTEGER;
ALTER TABLE idempotency_keys ADD COLUMN location TEXT;
UPDATE idempotency_keys SET status_code =
    CASE WHEN outcome = 'refused' THEN 422 WHEN transfer_id IS NOT NULL THEN 201 ELSE 200 END;
ALTER TABLE idempotency_keys ALTER COLUMN status_code SET NOT NULL;
ALTER TABLE idempotency_keys DROP COLUMN outcome;
