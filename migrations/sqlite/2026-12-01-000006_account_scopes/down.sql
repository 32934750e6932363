DROP TRIGGER organisations_scopes_move;
DROP TRIGGER accounts_scopes_rehome;
DROP TRIGGER accounts_scopes_open;
DROP TABLE account_scopes;
