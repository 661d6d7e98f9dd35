-- When a patient was last made active or inactive, as the audit log records it. The patient's
-- page shows who made the change and why; with the instant on the patient's row it reads the
-- one monthly partition of the audit log that holds the change, instead of planning and
-- searching every month of a log kept for ten years. NULL: never changed.
ALTER TABLE patients ADD COLUMN active_changed_at timestamptz;

UPDATE patients p SET active_changed_at = a.at
FROM (
	SELECT DISTINCT ON (practice_id, entity_id) practice_id, entity_id, at
	FROM audit_log
	WHERE entity = 'patient' AND action IN ('patient.activate', 'patient.deactivate')
	ORDER BY practice_id, entity_id, at DESC, id DESC
) a
WHERE p.practice_id = a.practice_id AND p.id::text = a.entity_id;
