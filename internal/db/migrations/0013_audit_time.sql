-- The audit log is exported and read by time: a day or a month of one practice's events.
CREATE INDEX audit_log_by_time ON audit_log (practice_id, at);
