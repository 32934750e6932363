DROP TRIGGER organisations_scopes_move ON organisations;
DROP FUNCTION timebank_organisation_scopes();
DROP TRIGGER accounts_scopes_rehome ON accounts;
DROP TRIGGER accounts_scopes_open ON accounts;
DROP FUNCTION timebank_account_scopes();
DROP TABLE account_scopes;
