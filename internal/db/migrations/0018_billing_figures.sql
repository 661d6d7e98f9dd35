-- Billing's month figures for the metrics: per program and code, the patients billable at the
-- code, those near it as their next code, and what the codes are worth, for the practice's
-- current month. They are computed from the month's report (conflicts among a staff member's
-- entries make per-patient updates unsound), when the facts have changed since and at most
-- every few minutes, so that a scrape reads a few rows instead of running the report.

CREATE TABLE billing_month_figures (
	practice_id bigint NOT NULL REFERENCES practices (id),
	month       date NOT NULL CHECK (extract(day FROM month) = 1),
	program     text NOT NULL,
	code        text NOT NULL,
	patients    integer NOT NULL CHECK (patients >= 0),
	near_next   integer NOT NULL CHECK (near_next >= 0),
	cents       bigint NOT NULL,
	PRIMARY KEY (practice_id, month, program, code)
);

-- Per practice: whether a fact changed since the figures were computed (a practice with no row
-- has none computed yet), the month they are of, when they were computed, and when the last
-- computation began (whatever its outcome: it paces the next one).
CREATE TABLE billing_figures_state (
	practice_id  bigint PRIMARY KEY REFERENCES practices (id),
	stale        boolean NOT NULL,
	month        date CHECK (extract(day FROM month) = 1),
	computed_at  timestamptz,
	attempted_at timestamptz
);

-- billing_facts_changed marks the figures of the practices of the rows a statement changed
-- (the transition table "changed") stale. Once they are stale it writes nothing: on the busy
-- tables (readings arrive by thousands a second) a statement costs one read of the small state
-- table and takes no lock.
CREATE FUNCTION billing_facts_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM billing_figures_state WHERE NOT stale) THEN
		UPDATE billing_figures_state SET stale = true
		WHERE NOT stale AND practice_id IN (SELECT DISTINCT practice_id FROM changed);
	END IF;
	RETURN NULL;
END $$;

-- billing_patient_changed does the same for one patient whose billing facts were updated.
CREATE FUNCTION billing_patient_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE billing_figures_state SET stale = true WHERE practice_id = NEW.practice_id AND NOT stale;
	RETURN NULL;
END $$;

-- The facts of a month's report: time entries and their patients (append-only), the patients'
-- enrollment, conditions and practitioner, their consents, the services billed elsewhere, and
-- the device readings of RPM's device codes. A trigger with a transition table serves a single
-- event, hence one per event.
CREATE TRIGGER time_entries_billing_figures AFTER INSERT ON time_entries
	REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION billing_facts_changed();
CREATE TRIGGER time_entry_patients_billing_figures AFTER INSERT ON time_entry_patients
	REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION billing_facts_changed();

CREATE TRIGGER patients_billing_figures_insert AFTER INSERT ON patients
	REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION billing_facts_changed();
CREATE TRIGGER patients_billing_figures_delete AFTER DELETE ON patients
	REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION billing_facts_changed();
-- Patients are updated often for other reasons (contact, opt-outs): only a change of what
-- billing reads marks the figures.
CREATE TRIGGER patients_billing_figures_update AFTER UPDATE ON patients FOR EACH ROW
	WHEN (OLD.programs IS DISTINCT FROM NEW.programs
		OR OLD.chronic_conditions IS DISTINCT FROM NEW.chronic_conditions
		OR OLD.short_term_conditions IS DISTINCT FROM NEW.short_term_conditions
		OR OLD.billing_npi IS DISTINCT FROM NEW.billing_npi
		OR OLD.ccm_track IS DISTINCT FROM NEW.ccm_track
		OR OLD.pcm_track IS DISTINCT FROM NEW.pcm_track
		OR OLD.initiating_visit_on IS DISTINCT FROM NEW.initiating_visit_on
		OR OLD.care_plan_on IS DISTINCT FROM NEW.care_plan_on)
	EXECUTE FUNCTION billing_patient_changed();

CREATE TRIGGER consents_billing_figures_insert AFTER INSERT ON consents
	REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION billing_facts_changed();
CREATE TRIGGER consents_billing_figures_update AFTER UPDATE ON consents
	REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION billing_facts_changed();
CREATE TRIGGER consents_billing_figures_delete AFTER DELETE ON consents
	REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION billing_facts_changed();

CREATE TRIGGER billed_services_billing_figures_insert AFTER INSERT ON billed_services
	REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION billing_facts_changed();
CREATE TRIGGER billed_services_billing_figures_update AFTER UPDATE ON billed_services
	REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION billing_facts_changed();
CREATE TRIGGER billed_services_billing_figures_delete AFTER DELETE ON billed_services
	REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION billing_facts_changed();

CREATE TRIGGER readings_billing_figures_insert AFTER INSERT ON readings
	REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION billing_facts_changed();
CREATE TRIGGER readings_billing_figures_update AFTER UPDATE ON readings
	REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION billing_facts_changed();
CREATE TRIGGER readings_billing_figures_delete AFTER DELETE ON readings
	REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION billing_facts_changed();
