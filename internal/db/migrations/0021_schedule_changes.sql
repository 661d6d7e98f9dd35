-- The scheduler's minute with nothing due reads no patient: each replica remembers which
-- groups of patients have their check-in of the period, until a change that could make a
-- patient due. Such changes are noted here, one row per transaction, by statement triggers on
-- what the scheduler's eligibility reads: patients (added, removed, or a column it reads
-- changed), consents, and check-ins (removed, or moved to another patient, script or period).
-- A row is only inserted, never updated, so writers never wait on one another; a replica asks
-- whether a row was committed since the database snapshot its memory holds for.
-- Replies, opt-outs, reminders and the other updates of patients and check-ins note nothing.
CREATE TABLE schedule_changes (
	xid xid8 PRIMARY KEY,
	-- On the database's clock: only for dropping rows older than any replica's memory.
	noted_at timestamptz NOT NULL DEFAULT statement_timestamp()
);

CREATE FUNCTION note_schedule_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO schedule_changes (xid) VALUES (pg_current_xact_id()) ON CONFLICT DO NOTHING;
	RETURN NULL;
END
$$;

CREATE TRIGGER patients_schedule_change
	AFTER INSERT OR DELETE OR TRUNCATE
		OR UPDATE OF practice_id, active, phone, script_id, programs, timezone
	ON patients FOR EACH STATEMENT EXECUTE FUNCTION note_schedule_change();

-- An opt-out (STOP, a carrier's report) only makes a patient ineligible, which starts nothing:
-- only the opt-in that clears it is noted.
CREATE TRIGGER patients_opt_in_schedule_change
	AFTER UPDATE OF opted_out_at ON patients
	FOR EACH ROW WHEN (OLD.opted_out_at IS NOT NULL AND NEW.opted_out_at IS NULL)
	EXECUTE FUNCTION note_schedule_change();

CREATE TRIGGER consents_schedule_change
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
	ON consents FOR EACH STATEMENT EXECUTE FUNCTION note_schedule_change();

CREATE TRIGGER checkins_schedule_change
	AFTER DELETE OR TRUNCATE OR UPDATE OF practice_id, patient_id, script_id, period
	ON checkins FOR EACH STATEMENT EXECUTE FUNCTION note_schedule_change();
