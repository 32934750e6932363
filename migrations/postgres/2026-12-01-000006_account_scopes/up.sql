-- Every organisation an account is inside (its own and each ancestor), so
-- "the accounts of a subtree, in id order" is one range of an index: a page
-- reads its own rows whatever the subtree's size and wherever its accounts
-- fall among the city's. (An account's organisations are the ids of its
-- organisation's path.) Kept by the triggers below: an account opened or
-- re-homed, a subtree moved.
CREATE TABLE account_scopes (
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    account_id      TEXT NOT NULL REFERENCES accounts (id),
    PRIMARY KEY (organisation_id, account_id)
);
CREATE INDEX account_scopes_account ON account_scopes (account_id);

INSERT INTO account_scopes (organisation_id, account_id)
SELECT p.id, a.id
FROM accounts a
JOIN organisations o ON o.id = a.organisation_id
CROSS JOIN LATERAL unnest(string_to_array(trim(both '/' from o.path), '/')) AS p (id);

CREATE FUNCTION timebank_account_scopes() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM account_scopes WHERE account_id = OLD.id;
    END IF;
    INSERT INTO account_scopes (organisation_id, account_id)
    SELECT p.id, NEW.id
    FROM organisations o
    CROSS JOIN LATERAL unnest(string_to_array(trim(both '/' from o.path), '/')) AS p (id)
    WHERE o.id = NEW.organisation_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER accounts_scopes_open AFTER INSERT ON accounts
    FOR EACH ROW EXECUTE FUNCTION timebank_account_scopes();
CREATE TRIGGER accounts_scopes_rehome AFTER UPDATE OF organisation_id ON accounts
    FOR EACH ROW WHEN (OLD.organisation_id IS DISTINCT FROM NEW.organisation_id)
    EXECUTE FUNCTION timebank_account_scopes();

-- A moved subtree rewrites each of its organisations' paths, one row at a
-- time; each row re-homes the accounts directly in that organisation.
CREATE FUNCTION timebank_organisation_scopes() RETURNS trigger AS $$
BEGIN
    DELETE FROM account_scopes
    WHERE account_id IN (SELECT id FROM accounts WHERE organisation_id = NEW.id);
    INSERT INTO account_scopes (organisation_id, account_id)
    SELECT p.id, a.id
    FROM accounts a
    CROSS JOIN unnest(string_to_array(trim(both '/' from NEW.path), '/')) AS p (id)
    WHERE a.organisation_id = NEW.id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER organisations_scopes_move AFTER UPDATE OF path ON organisations
    FOR EACH ROW WHEN (OLD.path IS DISTINCT FROM NEW.path)
    EXECUTE FUNCTION timebank_organisation_scopes();
