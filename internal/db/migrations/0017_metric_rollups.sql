-- Metrics whose cost does not grow with history.
--
-- Month figures come from rollups kept by triggers as the facts change, never from a rescan:
-- checkin_months counts, per practice, month and script, the check-ins started and those
-- completed; care_time_months sums, per practice, month and program, the seconds of the
-- current versions of time entries (an entry amended or voided drops out, its successor counts
-- unless it is a void), as the month's time-log report reads them. A month is the calendar
-- month of started_at in the practice's zone (practices.timezone).
--
-- Each rollup row is split in slots (the writer's backend pid modulo 16), so that concurrent
-- transactions adding to the same month and label seldom wait on one row; readers sum the
-- slots. The triggers are statement-level with transition tables: a statement that starts
-- 100,000 check-ins adds to each rollup row once. They work on a partitioned table as well.
--
-- Gauges of the current state read only what is open or due, through partial indexes.

CREATE TABLE checkin_months (
	practice_id bigint NOT NULL REFERENCES practices (id),
	month       date NOT NULL,
	script_id   text NOT NULL,
	slot        smallint NOT NULL,
	started     bigint NOT NULL,
	completed   bigint NOT NULL,
	PRIMARY KEY (practice_id, month, script_id, slot)
);

CREATE TABLE care_time_months (
	practice_id bigint NOT NULL REFERENCES practices (id),
	month       date NOT NULL,
	program     text NOT NULL,
	slot        smallint NOT NULL,
	seconds     numeric NOT NULL,
	PRIMARY KEY (practice_id, month, program, slot)
);

-- rollup_slot is the slot a transaction adds to.
CREATE FUNCTION rollup_slot() RETURNS smallint
LANGUAGE sql STABLE AS $$ SELECT (pg_backend_pid() % 16)::smallint $$;

-- checkin_months_add adds the check-ins of the transition table "changed" (sign 1) or
-- removes them (sign -1).
CREATE FUNCTION checkin_months_add() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	sign int := CASE WHEN TG_OP = 'DELETE' THEN -1 ELSE 1 END;
BEGIN
	INSERT INTO checkin_months AS r (practice_id, month, script_id, slot, started, completed)
	SELECT c.practice_id, (date_trunc('month', c.started_at AT TIME ZONE p.timezone))::date, c.script_id, rollup_slot(),
		sign * count(*), sign * count(*) FILTER (WHERE c.status = 'completed')
	FROM changed c JOIN practices p ON p.id = c.practice_id
	GROUP BY 1, 2, 3
	ORDER BY 1, 2, 3
	ON CONFLICT (practice_id, month, script_id, slot) DO UPDATE
	SET started = r.started + EXCLUDED.started, completed = r.completed + EXCLUDED.completed;
	RETURN NULL;
END $$;

-- checkin_months_update moves an updated check-in from its old month, script and status to
-- its new ones; updates that change none of them (most: a question answered) write nothing.
CREATE FUNCTION checkin_months_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO checkin_months AS r (practice_id, month, script_id, slot, started, completed)
	SELECT d.practice_id, (date_trunc('month', d.started_at AT TIME ZONE p.timezone))::date, d.script_id, rollup_slot(),
		sum(d.n), COALESCE(sum(d.n) FILTER (WHERE d.status = 'completed'), 0)
	FROM (
		SELECT o.practice_id, o.started_at, o.script_id, o.status, -1 AS n
		FROM old_rows o JOIN new_rows w ON w.practice_id = o.practice_id AND w.id = o.id
		WHERE (o.status = 'completed') IS DISTINCT FROM (w.status = 'completed')
			OR o.started_at IS DISTINCT FROM w.started_at OR o.script_id IS DISTINCT FROM w.script_id
		UNION ALL
		SELECT w.practice_id, w.started_at, w.script_id, w.status, 1
		FROM old_rows o JOIN new_rows w ON w.practice_id = o.practice_id AND w.id = o.id
		WHERE (o.status = 'completed') IS DISTINCT FROM (w.status = 'completed')
			OR o.started_at IS DISTINCT FROM w.started_at OR o.script_id IS DISTINCT FROM w.script_id
	) d JOIN practices p ON p.id = d.practice_id
	GROUP BY 1, 2, 3
	ORDER BY 1, 2, 3
	ON CONFLICT (practice_id, month, script_id, slot) DO UPDATE
	SET started = r.started + EXCLUDED.started, completed = r.completed + EXCLUDED.completed;
	RETURN NULL;
END $$;

CREATE TRIGGER checkin_months_insert AFTER INSERT ON checkins
	REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION checkin_months_add();
CREATE TRIGGER checkin_months_delete AFTER DELETE ON checkins
	REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION checkin_months_add();
CREATE TRIGGER checkin_months_update AFTER UPDATE ON checkins
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION checkin_months_update();

-- care_time_months_insert adds the new entries that are current (neither voids nor superseded
-- by another entry of the statement) and takes out the entries they supersede that were current
-- before (not voids, and not among the new entries, which were never added). Time entries are
-- append-only: inserts are the only change.
CREATE FUNCTION care_time_months_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO care_time_months AS r (practice_id, month, program, slot, seconds)
	SELECT d.practice_id, (date_trunc('month', d.started_at AT TIME ZONE p.timezone))::date, d.program, rollup_slot(),
		sum(d.seconds)
	FROM (
		SELECT n.practice_id, n.started_at, n.program, extract(epoch FROM n.ended_at - n.started_at) AS seconds
		FROM new_rows n
		WHERE NOT n.voided
			AND NOT EXISTS (SELECT 1 FROM new_rows s WHERE s.practice_id = n.practice_id AND s.supersedes = n.id)
		UNION ALL
		SELECT e.practice_id, e.started_at, e.program, -extract(epoch FROM e.ended_at - e.started_at)
		FROM new_rows n JOIN time_entries e ON e.practice_id = n.practice_id AND e.id = n.supersedes
		WHERE NOT e.voided
			AND NOT EXISTS (SELECT 1 FROM new_rows s WHERE s.practice_id = e.practice_id AND s.id = e.id)
	) d JOIN practices p ON p.id = d.practice_id
	GROUP BY 1, 2, 3
	ORDER BY 1, 2, 3
	ON CONFLICT (practice_id, month, program, slot) DO UPDATE SET seconds = r.seconds + EXCLUDED.seconds;
	RETURN NULL;
END $$;

CREATE TRIGGER care_time_months_insert AFTER INSERT ON time_entries
	REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION care_time_months_insert();

-- The rollups of the rows already stored.
INSERT INTO checkin_months (practice_id, month, script_id, slot, started, completed)
SELECT c.practice_id, (date_trunc('month', c.started_at AT TIME ZONE p.timezone))::date, c.script_id, 0,
	count(*), count(*) FILTER (WHERE c.status = 'completed')
FROM checkins c JOIN practices p ON p.id = c.practice_id
GROUP BY 1, 2, 3;

INSERT INTO care_time_months (practice_id, month, program, slot, seconds)
SELECT e.practice_id, (date_trunc('month', e.started_at AT TIME ZONE p.timezone))::date, e.program, 0,
	sum(extract(epoch FROM e.ended_at - e.started_at))
FROM time_entries e JOIN practices p ON p.id = e.practice_id
WHERE NOT e.voided
	AND NOT EXISTS (SELECT 1 FROM time_entries n WHERE n.practice_id = e.practice_id AND n.supersedes = e.id)
GROUP BY 1, 2, 3;

-- Gauges: unresolved items, and patients opted out, each read through an index of those rows
-- only (the outboxes' partial indexes of queued and unknown sends already exist).
CREATE INDEX escalations_unresolved ON escalations (practice_id, severity, created_at) WHERE status <> 'resolved';
CREATE INDEX patients_opted_out ON patients (practice_id, opt_out_source) WHERE opted_out_at IS NOT NULL;
