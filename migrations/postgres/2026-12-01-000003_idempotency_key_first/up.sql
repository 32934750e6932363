-- The key leads the primary key. A batch looks up its keys with
-- `scope = $1 AND key = ANY($2)`; with the scope first, a plan made while the
-- table was small probed the scope alone and filtered every key of the caller
-- (a whole day of a busy till's keys per batch). With the key first, every
-- plan must probe by key.
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys ADD PRIMARY KEY (key, scope);
