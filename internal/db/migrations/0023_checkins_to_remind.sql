-- The minute with nothing due reads no open check-in that is not due. Reminders look for open
-- text check-ins not yet reminded whose last text went out long enough ago; through
-- checkins_open_by_start they also read every open check-in already reminded and waiting for its
-- expiry (the days after a month's start: most of those who do not answer). This index holds
-- only those not yet reminded, by their start (a check-in's last text never precedes it): the
-- start never changes and the last text and question are in no index, so the updates of a
-- conversation stay heap-only; the reminder's own update leaves the index.
CREATE INDEX checkins_to_remind ON checkins (practice_id, script_id, started_at)
	WHERE status = 'open' AND channel = 'sms' AND reminded_at IS NULL;
