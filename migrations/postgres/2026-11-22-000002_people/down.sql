DROP TABLE volunteers;
DROP TABLE audit_log;
DROP FUNCTION timebank_refuse_audit_change() CASCADE;
DROP TABLE login_throttle;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
