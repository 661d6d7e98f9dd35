-- Every answer and every question sent moves an open check-in's last_sent_at. An index on it
-- made each of those updates write a new entry in all five indexes of the table; without it,
-- and with room left on each page, they are heap-only updates. The minute's reminders and
-- expiries find open check-ins through checkins_one_open and filter on the time instead.
DROP INDEX checkins_open_by_sent;
ALTER TABLE checkins SET (fillfactor = 80);
