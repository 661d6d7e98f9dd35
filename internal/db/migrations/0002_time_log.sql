-- Staff time entries (append-only: corrections are amendments that supersede), timers, API
-- tokens, and closed billing months.

CREATE TABLE time_entries (
	practice_id      bigint NOT NULL REFERENCES practices (id),
	id               bigint GENERATED ALWAYS AS IDENTITY,
	staff_id         bigint NOT NULL,
	-- The staff member's role, credential and NPI when the work was done.
	staff_role       text NOT NULL CHECK (staff_role IN ('clinical', 'practitioner', 'non_clinical')),
	staff_credential text NOT NULL,
	staff_npi        npi,
	program          text NOT NULL CHECK (program IN ('ccm', 'rpm', 'pcm', 'bhi', 'tcm', 'g0506')),
	started_at       timestamptz NOT NULL,
	ended_at         timestamptz NOT NULL,
	activity         text NOT NULL CHECK (activity IN ('care_plan', 'medication_reconciliation',
		'patient_call', 'caregiver_call', 'coordination', 'education', 'data_review', 'other')),
	note             text NOT NULL DEFAULT '' CHECK (length(note) <= 4000),
	changed          text NOT NULL DEFAULT 'no_change' CHECK (changed IN ('no_change', 'decision',
		'care_plan_update', 'medication_change', 'escalation', 'referral')),
	mdm              text NOT NULL DEFAULT 'none' CHECK (mdm IN ('none', 'low', 'moderate', 'high')),
	interactive      boolean NOT NULL DEFAULT false,
	source           text NOT NULL CHECK (source IN ('manual', 'timer', 'escalation', 'import')),
	supersedes       bigint,
	voided           boolean NOT NULL DEFAULT false,
	amend_reason     text CHECK (length(amend_reason) BETWEEN 1 AND 1000),
	import_id        bigint,
	created_by       text NOT NULL,
	created_at       timestamptz NOT NULL,
	PRIMARY KEY (practice_id, id),
	UNIQUE (practice_id, supersedes),
	FOREIGN KEY (practice_id, staff_id) REFERENCES staff (practice_id, id),
	FOREIGN KEY (practice_id, supersedes) REFERENCES time_entries (practice_id, id),
	FOREIGN KEY (practice_id, import_id) REFERENCES imports (practice_id, id),
	CHECK (ended_at > started_at),
	CHECK (ended_at - started_at <= interval '24 hours'),
	CHECK ((supersedes IS NULL) = (amend_reason IS NULL)),
	CHECK (NOT voided OR supersedes IS NOT NULL),
	CHECK (mdm = 'none' OR staff_role = 'practitioner')
);
CREATE INDEX time_entries_by_start ON time_entries (practice_id, started_at);
CREATE INDEX time_entries_by_staff ON time_entries (practice_id, staff_id, started_at);

-- The patients of an entry: one for an activity about one patient, several for a shared one
-- (whose seconds are split evenly among them).
CREATE TABLE time_entry_patients (
	practice_id bigint NOT NULL,
	entry_id    bigint NOT NULL,
	patient_id  bigint NOT NULL,
	PRIMARY KEY (practice_id, entry_id, patient_id),
	FOREIGN KEY (practice_id, entry_id) REFERENCES time_entries (practice_id, id),
	FOREIGN KEY (practice_id, patient_id) REFERENCES patients (practice_id, id)
);
CREATE INDEX time_entry_patients_by_patient ON time_entry_patients (practice_id, patient_id);

CREATE TRIGGER time_entries_append_only BEFORE UPDATE OR DELETE ON time_entries
	FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER time_entries_no_truncate BEFORE TRUNCATE ON time_entries
	FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();
CREATE TRIGGER time_entry_patients_append_only BEFORE UPDATE OR DELETE ON time_entry_patients
	FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER time_entry_patients_no_truncate BEFORE TRUNCATE ON time_entry_patients
	FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();

-- A running timer per staff member; stopping it records a time entry.
CREATE TABLE timers (
	practice_id bigint NOT NULL REFERENCES practices (id),
	id          bigint GENERATED ALWAYS AS IDENTITY,
	staff_id    bigint NOT NULL,
	patient_ids bigint[] NOT NULL CHECK (cardinality(patient_ids) BETWEEN 1 AND 50),
	program     text NOT NULL CHECK (program IN ('ccm', 'rpm', 'pcm', 'bhi', 'tcm', 'g0506')),
	activity    text NOT NULL,
	started_at  timestamptz NOT NULL,
	stopped_at  timestamptz,
	entry_id    bigint,
	PRIMARY KEY (practice_id, id),
	FOREIGN KEY (practice_id, staff_id) REFERENCES staff (practice_id, id),
	FOREIGN KEY (practice_id, entry_id) REFERENCES time_entries (practice_id, id),
	CHECK (entry_id IS NULL OR stopped_at IS NOT NULL)
);
CREATE UNIQUE INDEX timers_one_running ON timers (practice_id, staff_id) WHERE stopped_at IS NULL;

-- API tokens: only a digest is stored; the token is shown once.
CREATE TABLE api_tokens (
	practice_id  bigint NOT NULL REFERENCES practices (id),
	id           bigint GENERATED ALWAYS AS IDENTITY,
	staff_id     bigint NOT NULL,
	token_sha256 text NOT NULL UNIQUE CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
	created_at   timestamptz NOT NULL,
	created_by   text NOT NULL,
	revoked_at   timestamptz,
	PRIMARY KEY (practice_id, id),
	FOREIGN KEY (practice_id, staff_id) REFERENCES staff (practice_id, id)
);

-- A closed billing month: the report as it stood, never changed afterwards.
CREATE TABLE billing_closes (
	practice_id bigint NOT NULL REFERENCES practices (id),
	month       date NOT NULL CHECK (extract(day FROM month) = 1),
	timezone    text NOT NULL,
	closed_at   timestamptz NOT NULL,
	closed_by   text NOT NULL,
	report      jsonb NOT NULL,
	PRIMARY KEY (practice_id, month)
);
CREATE TRIGGER billing_closes_append_only BEFORE UPDATE OR DELETE ON billing_closes
	FOR EACH ROW EXECUTE FUNCTION forbid_change();
