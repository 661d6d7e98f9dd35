-- The scheduler's minute, with nothing due, reads as little as what is open or due.
-- Which patients already have this period's check-in of a script (or an open one): without an
-- index on the period it read every check-in ever made, a cost that grew with each month of
-- history; with it, the period's own check-ins and the open ones.
CREATE INDEX checkins_by_period ON checkins (practice_id, script_id, period);
-- Reminders and expiry look for open check-ins whose last text went out long enough ago; a
-- check-in's last text went out after it started, so those that started long enough ago are
-- found in this index, and the open check-ins of the day are not read at all. Script and start
-- never change, so the updates of an open check-in (its last text, its question) stay
-- heap-only.
CREATE INDEX checkins_open_by_start ON checkins (practice_id, script_id, started_at) WHERE status = 'open';
