-- care_time_months_insert (0017) read the entries that a statement's new rows supersede by
-- joining the new rows with every time entry: the plan hashed the whole partitioned log, each
-- month of it, for every statement, amendment or not. An import of a month's time on top of a
-- year of history stored its entries a few thousand at a time, and each statement rescanned the
-- year. The entries superseded are now looked up one new row at a time through the primary
-- key, and only for the new rows that supersede one: a statement of new entries reads no
-- stored entry, however long the log. What the rollup adds and takes out is unchanged.
CREATE OR REPLACE FUNCTION care_time_months_insert() RETURNS trigger
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
		FROM new_rows n
		CROSS JOIN LATERAL (
			SELECT e.practice_id, e.id, e.started_at, e.ended_at, e.program FROM time_entries e
			WHERE e.practice_id = n.practice_id AND e.id = n.supersedes AND NOT e.voided
			OFFSET 0
		) e
		WHERE n.supersedes IS NOT NULL
			AND NOT EXISTS (SELECT 1 FROM new_rows s WHERE s.practice_id = e.practice_id AND s.id = e.id)
	) d JOIN practices p ON p.id = d.practice_id
	GROUP BY 1, 2, 3
	ORDER BY 1, 2, 3
	ON CONFLICT (practice_id, month, program, slot) DO UPDATE SET seconds = r.seconds + EXCLUDED.seconds;
	RETURN NULL;
END $$;
