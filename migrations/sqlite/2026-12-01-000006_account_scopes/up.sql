-- Every organisation an account is inside (its own and each ancestor), so
-- "the accounts of a subtree, in id order" is one range of an index: a page
-- reads its own rows whatever the subtree's size and wherever its accounts
-- fall among the city's. (An account's organisations are the ids of its
-- organisation's path, split here as a JSON array.) Kept by the triggers
-- below: an account opened or re-homed, a subtree moved.
CREATE TABLE account_scopes (
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    account_id      TEXT NOT NULL REFERENCES accounts (id),
    PRIMARY KEY (organisation_id, account_id)
) WITHOUT ROWID;
CREATE INDEX account_scopes_account ON account_scopes (account_id);

INSERT INTO account_scopes (organisation_id, account_id)
SELECT p.value, a.id
FROM accounts a
JOIN organisations o ON o.id = a.organisation_id
JOIN json_each('["' || replace(trim(o.path, '/'), '/', '","') || '"]') AS p;

CREATE TRIGGER accounts_scopes_open AFTER INSERT ON accounts
BEGIN
    INSERT INTO account_scopes (organisation_id, account_id)
    SELECT p.value, NEW.id
    FROM organisations o
    JOIN json_each('["' || replace(trim(o.path, '/'), '/', '","') || '"]') AS p
    WHERE o.id = NEW.organisation_id;
END;

CREATE TRIGGER accounts_scopes_rehome AFTER UPDATE OF organisation_id ON accounts
WHEN OLD.organisation_id IS NOT NEW.organisation_id
BEGIN
    DELETE FROM account_scopes WHERE account_id = OLD.id;
    INSERT INTO account_scopes (organisation_id, account_id)
    SELECT p.value, NEW.id
    FROM organisations o
    JOIN json_each('["' || replace(trim(o.path, '/'), '/', '","') || '"]') AS p
    WHERE o.id = NEW.organisation_id;
END;

-- A moved subtree rewrites each of its organisations' paths, one row at a
-- time; each row re-homes the accounts directly in that organisation.
CREATE TRIGGER organisations_scopes_move AFTER UPDATE OF path ON organisations
WHEN OLD.path IS NOT NEW.path
BEGIN
    DELETE FROM account_scopes
    WHERE account_id IN (SELECT id FROM accounts WHERE organisation_id = NEW.id);
    INSERT INTO account_scopes (organisation_id, account_id)
    SELECT p.value, a.id
    FROM accounts a
    JOIN json_each('["' || replace(trim(NEW.path, '/'), '/', '","') || '"]') AS p
    WHERE a.organisation_id = NEW.id;
END;
