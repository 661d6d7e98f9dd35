-- The patient's page shows the latest time staff made them inactive or active again. Every read
-- of a patient's record is an audit event of that patient, so finding that change among them
-- read all their events, in every month of the log. A partial index of those changes alone,
-- made on each monthly partition (those made later get it too), holds a handful of rows: each
-- month costs one look into an index that is nearly empty.
CREATE INDEX audit_log_active_changes ON audit_log (practice_id, entity_id, at)
	WHERE entity = 'patient' AND action IN ('patient.activate', 'patient.deactivate');
