-- History kept in its place: messages, check-in answers, audit events and time entries become
-- tables partitioned by calendar month (UTC boundaries), keeping their names, columns, rows and
-- the indexes their queries use. Each has a DEFAULT partition, so that no insert ever fails for
-- a date; the monthly partitions of the rows already stored are made here, and the months ahead
-- are kept made by the engine (package internal/history), which also moves rows that landed in a
-- DEFAULT partition into their month's partition when it is made.
--
--   table            partition key   why
--   messages         created_at      threads and the outbox read recent texts; old months go cold
--   checkin_answers  answered_at     answers arrive with the conversation
--   audit_log        at              exported and read by time
--   time_entries     started_at      billing reads a month of entries by their start
--
-- PostgreSQL needs the partition key in every primary and unique key, and allows no identity
-- column on a partitioned table. So:
-- - ids come from the same sequences as before (renamed back to <table>_id_seq, their current
--   value kept) through a column default; primary keys become (practice_id, id, key), and an
--   partition's primary key index, led by (practice_id, id), keeps lookups by id fast;
-- - a foreign key can no longer reference time_entries (its key now holds started_at).
--   time_entry_patients.entry_id, timers.entry_id and time_entries.supersedes lose their foreign
--   keys rather than carry started_at: each is written in the same transaction as the entry it
--   names (an entry's patients with the entry; a timer's entry when the timer stops, under the
--   timer's row lock; an amendment under the lock of the entry it supersedes, which it has just
--   read), time entries are never updated or deleted, and retention removes an entry's patients
--   with the entry. Carrying the key would change every writer for no integrity the
--   transactions do not already give;
-- - "an entry is superseded at most once", UNIQUE (practice_id, supersedes) before, is kept by
--   the database in time_entry_successors, a small unpartitioned table filled by a trigger on
--   each amendment: a second amendment of the same entry fails with a unique violation, as before;
-- - "an inbound text is stored once", the unique index on twilio_sid before, is kept by
--   inbound_sids, an unpartitioned table of the provider ids of received texts that the inbound
--   statement inserts into first; outbound ids keep a plain index for status callbacks;
-- - "one answer per question of a check-in", the primary key before, is kept by the inbound
--   statement, which inserts an answer only when none is stored while holding the check-in's row
--   lock (every answer is written under it).

-- forbid_change raises on any UPDATE, DELETE or TRUNCATE (0002); the append-only triggers come
-- back on the new tables below.

------------------------------------------------------------------------------------------------
-- messages

ALTER TABLE messages RENAME TO messages_unpartitioned;
CREATE SEQUENCE messages_id_seq_next;
SELECT setval('messages_id_seq_next', last_value, is_called) FROM messages_id_seq;

CREATE TABLE messages (
	practice_id bigint NOT NULL,
	id bigint NOT NULL DEFAULT nextval('messages_id_seq_next'),
	patient_id bigint,
	checkin_id bigint,
	direction text NOT NULL CONSTRAINT messages_direction_check CHECK (direction IN ('out', 'in')),
	kind text NOT NULL CONSTRAINT messages_kind_check CHECK (kind IN ('question', 'reask', 'reminder', 'closing',
		'intro', 'safety', 'notice', 'reply', 'alert', 'staff', 'confirmation')),
	phone e164 NOT NULL,
	body text NOT NULL CONSTRAINT messages_body_check CHECK (length(body) <= 1600),
	status text NOT NULL CONSTRAINT messages_status_check CHECK (status IN ('queued', 'sending', 'sent', 'delivered',
		'undelivered', 'failed', 'unknown', 'expired', 'cancelled', 'received')),
	twilio_sid text,
	error_code integer,
	attempts smallint NOT NULL DEFAULT 0,
	immediate boolean NOT NULL DEFAULT false,
	next_attempt_at timestamptz,
	lease_until timestamptz,
	created_at timestamptz NOT NULL,
	sent_at timestamptz,
	updated_at timestamptz NOT NULL,
	staff_id bigint,
	CONSTRAINT messages_check CHECK ((direction = 'in') = (status = 'received')),
	CONSTRAINT messages_staff_kind CHECK ((kind = 'staff') = (staff_id IS NOT NULL)),
	CONSTRAINT messages_practice_id_checkin_id_fkey FOREIGN KEY (practice_id, checkin_id) REFERENCES checkins (practice_id, id),
	CONSTRAINT messages_practice_id_patient_id_fkey FOREIGN KEY (practice_id, patient_id) REFERENCES patients (practice_id, id),
	CONSTRAINT messages_staff_fkey FOREIGN KEY (practice_id, staff_id) REFERENCES staff (practice_id, id)
) PARTITION BY RANGE (created_at);

------------------------------------------------------------------------------------------------
-- checkin_answers

ALTER TABLE checkin_answers RENAME TO checkin_answers_unpartitioned;

CREATE TABLE checkin_answers (
	practice_id bigint NOT NULL,
	checkin_id bigint NOT NULL,
	question_id text NOT NULL,
	value text NOT NULL,
	raw text NOT NULL,
	answered_at timestamptz NOT NULL,
	CONSTRAINT checkin_answers_practice_id_checkin_id_fkey FOREIGN KEY (practice_id, checkin_id) REFERENCES checkins (practice_id, id)
) PARTITION BY RANGE (answered_at);

------------------------------------------------------------------------------------------------
-- audit_log

ALTER TABLE audit_log RENAME TO audit_log_unpartitioned;
CREATE SEQUENCE audit_log_id_seq_next;
SELECT setval('audit_log_id_seq_next', last_value, is_called) FROM audit_log_id_seq;

CREATE TABLE audit_log (
	practice_id bigint NOT NULL,
	id bigint NOT NULL DEFAULT nextval('audit_log_id_seq_next'),
	at timestamptz NOT NULL,
	actor text NOT NULL CONSTRAINT audit_log_actor_check CHECK (actor <> ''),
	action text NOT NULL CONSTRAINT audit_log_action_check CHECK (action ~ '^[a-z_]+\.[a-z_]+$'),
	entity text NOT NULL,
	entity_id text NOT NULL DEFAULT '',
	detail jsonb NOT NULL DEFAULT '{}'
) PARTITION BY RANGE (at);

------------------------------------------------------------------------------------------------
-- time_entries

ALTER TABLE time_entry_patients DROP CONSTRAINT time_entry_patients_practice_id_entry_id_fkey;
ALTER TABLE timers DROP CONSTRAINT timers_practice_id_entry_id_fkey;
ALTER TABLE time_entries RENAME TO time_entries_unpartitioned;
CREATE SEQUENCE time_entries_id_seq_next;
SELECT setval('time_entries_id_seq_next', last_value, is_called) FROM time_entries_id_seq;

CREATE TABLE time_entries (
	practice_id bigint NOT NULL,
	id bigint NOT NULL DEFAULT nextval('time_entries_id_seq_next'),
	staff_id bigint NOT NULL,
	staff_role text NOT NULL CONSTRAINT time_entries_staff_role_check CHECK (staff_role IN ('clinical', 'practitioner', 'non_clinical')),
	staff_credential text NOT NULL,
	staff_npi npi,
	program text NOT NULL CONSTRAINT time_entries_program_check CHECK (program IN ('ccm', 'rpm', 'pcm', 'bhi', 'tcm', 'g0506')),
	started_at timestamptz NOT NULL,
	ended_at timestamptz NOT NULL,
	activity text NOT NULL CONSTRAINT time_entries_activity_check CHECK (activity IN ('care_plan', 'medication_reconciliation',
		'patient_call', 'caregiver_call', 'coordination', 'education', 'data_review', 'other')),
	note text NOT NULL DEFAULT '' CONSTRAINT time_entries_note_check CHECK (length(note) <= 4000),
	changed text NOT NULL DEFAULT 'no_change' CONSTRAINT time_entries_changed_check CHECK (changed IN ('no_change', 'decision',
		'care_plan_update', 'medication_change', 'escalation', 'referral')),
	mdm text NOT NULL DEFAULT 'none' CONSTRAINT time_entries_mdm_check CHECK (mdm IN ('none', 'low', 'moderate', 'high')),
	interactive boolean NOT NULL DEFAULT false,
	source text NOT NULL CONSTRAINT time_entries_source_check CHECK (source IN ('manual', 'timer', 'escalation', 'import')),
	supersedes bigint,
	voided boolean NOT NULL DEFAULT false,
	amend_reason text CONSTRAINT time_entries_amend_reason_check CHECK (length(amend_reason) BETWEEN 1 AND 1000),
	import_id bigint,
	created_by text NOT NULL,
	created_at timestamptz NOT NULL,
	CONSTRAINT time_entries_check CHECK (ended_at > started_at),
	CONSTRAINT time_entries_check1 CHECK (ended_at - started_at <= interval '24 hours'),
	CONSTRAINT time_entries_check2 CHECK ((supersedes IS NULL) = (amend_reason IS NULL)),
	CONSTRAINT time_entries_check3 CHECK (NOT voided OR supersedes IS NOT NULL),
	CONSTRAINT time_entries_check4 CHECK (mdm = 'none' OR staff_role = 'practitioner'),
	CONSTRAINT time_entries_practice_id_fkey FOREIGN KEY (practice_id) REFERENCES practices (id),
	CONSTRAINT time_entries_practice_id_import_id_fkey FOREIGN KEY (practice_id, import_id) REFERENCES imports (practice_id, id),
	CONSTRAINT time_entries_practice_id_staff_id_fkey FOREIGN KEY (practice_id, staff_id) REFERENCES staff (practice_id, id)
) PARTITION BY RANGE (started_at);

------------------------------------------------------------------------------------------------
-- The partitions: a DEFAULT one each, and one per UTC calendar month that holds stored rows,
-- named <table>_pYYYYMM as internal/history names them.

CREATE TABLE messages_default PARTITION OF messages DEFAULT;
CREATE TABLE checkin_answers_default PARTITION OF checkin_answers DEFAULT;
CREATE TABLE audit_log_default PARTITION OF audit_log DEFAULT;
CREATE TABLE time_entries_default PARTITION OF time_entries DEFAULT;

DO $$
DECLARE
	t record;
	m timestamptz;
BEGIN
	FOR t IN
		SELECT DISTINCT 'messages' AS parent, date_trunc('month', created_at AT TIME ZONE 'UTC') AS month FROM messages_unpartitioned
		UNION SELECT DISTINCT 'checkin_answers', date_trunc('month', answered_at AT TIME ZONE 'UTC') FROM checkin_answers_unpartitioned
		UNION SELECT DISTINCT 'audit_log', date_trunc('month', at AT TIME ZONE 'UTC') FROM audit_log_unpartitioned
		UNION SELECT DISTINCT 'time_entries', date_trunc('month', started_at AT TIME ZONE 'UTC') FROM time_entries_unpartitioned
	LOOP
		m := t.month AT TIME ZONE 'UTC';
		EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
			t.parent || '_p' || to_char(t.month, 'YYYYMM'), t.parent, m, m + interval '1 month');
	END LOOP;
END
$$;

------------------------------------------------------------------------------------------------
-- The rows, then the old tables, then the keys and indexes under their old names.

INSERT INTO messages (practice_id, id, patient_id, checkin_id, direction, kind, phone, body, status, twilio_sid,
	error_code, attempts, immediate, next_attempt_at, lease_until, created_at, sent_at, updated_at, staff_id)
SELECT practice_id, id, patient_id, checkin_id, direction, kind, phone, body, status, twilio_sid,
	error_code, attempts, immediate, next_attempt_at, lease_until, created_at, sent_at, updated_at, staff_id
FROM messages_unpartitioned;

INSERT INTO checkin_answers (practice_id, checkin_id, question_id, value, raw, answered_at)
SELECT practice_id, checkin_id, question_id, value, raw, answered_at FROM checkin_answers_unpartitioned;

INSERT INTO audit_log (practice_id, id, at, actor, action, entity, entity_id, detail)
SELECT practice_id, id, at, actor, action, entity, entity_id, detail FROM audit_log_unpartitioned;

INSERT INTO time_entries (practice_id, id, staff_id, staff_role, staff_credential, staff_npi, program, started_at,
	ended_at, activity, note, changed, mdm, interactive, source, supersedes, voided, amend_reason, import_id,
	created_by, created_at)
SELECT practice_id, id, staff_id, staff_role, staff_credential, staff_npi, program, started_at,
	ended_at, activity, note, changed, mdm, interactive, source, supersedes, voided, amend_reason, import_id,
	created_by, created_at
FROM time_entries_unpartitioned;

CREATE TABLE time_entry_successors (
	practice_id bigint NOT NULL,
	supersedes bigint NOT NULL,
	entry_id bigint NOT NULL,
	PRIMARY KEY (practice_id, supersedes)
);
INSERT INTO time_entry_successors (practice_id, supersedes, entry_id)
SELECT practice_id, supersedes, id FROM time_entries_unpartitioned WHERE supersedes IS NOT NULL;

CREATE TABLE inbound_sids (
	twilio_sid text PRIMARY KEY,
	received_at timestamptz NOT NULL
);
INSERT INTO inbound_sids (twilio_sid, received_at)
SELECT twilio_sid, created_at FROM messages_unpartitioned WHERE direction = 'in' AND twilio_sid IS NOT NULL;
CREATE INDEX inbound_sids_by_time ON inbound_sids (received_at);

DROP TABLE messages_unpartitioned, checkin_answers_unpartitioned, audit_log_unpartitioned, time_entries_unpartitioned;

ALTER SEQUENCE messages_id_seq_next RENAME TO messages_id_seq;
ALTER SEQUENCE messages_id_seq OWNED BY messages.id;
ALTER SEQUENCE audit_log_id_seq_next RENAME TO audit_log_id_seq;
ALTER SEQUENCE audit_log_id_seq OWNED BY audit_log.id;
ALTER SEQUENCE time_entries_id_seq_next RENAME TO time_entries_id_seq;
ALTER SEQUENCE time_entries_id_seq OWNED BY time_entries.id;

ALTER TABLE messages ADD CONSTRAINT messages_pkey PRIMARY KEY (practice_id, id, created_at);
CREATE INDEX messages_by_checkin ON messages (practice_id, checkin_id) WHERE checkin_id IS NOT NULL;
CREATE INDEX messages_by_number ON messages (practice_id, phone, created_at) WHERE patient_id IS NULL;
CREATE INDEX messages_by_patient ON messages (practice_id, patient_id, created_at);
CREATE INDEX messages_by_sid ON messages (twilio_sid) WHERE twilio_sid IS NOT NULL;
CREATE INDEX messages_outbox ON messages (immediate DESC, next_attempt_at) WHERE status = 'queued';
CREATE INDEX messages_sending ON messages (lease_until) WHERE status = 'sending';
CREATE INDEX messages_unknown ON messages (updated_at) WHERE status = 'unknown';

ALTER TABLE checkin_answers ADD CONSTRAINT checkin_answers_pkey PRIMARY KEY (practice_id, checkin_id, question_id, answered_at);

ALTER TABLE audit_log ADD CONSTRAINT audit_log_pkey PRIMARY KEY (practice_id, id, at);
CREATE INDEX audit_log_by_entity ON audit_log (practice_id, entity, entity_id, at);
CREATE INDEX audit_log_by_time ON audit_log (practice_id, at);
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
	FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();

ALTER TABLE time_entries ADD CONSTRAINT time_entries_pkey PRIMARY KEY (practice_id, id, started_at);
CREATE INDEX time_entries_by_supersedes ON time_entries (practice_id, supersedes);
CREATE INDEX time_entries_by_staff ON time_entries (practice_id, staff_id, started_at);
CREATE INDEX time_entries_by_start ON time_entries (practice_id, started_at);
CREATE TRIGGER time_entries_append_only BEFORE UPDATE OR DELETE ON time_entries
	FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER time_entries_no_truncate BEFORE TRUNCATE ON time_entries
	FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();

-- An amendment claims the entry it supersedes; a second claim is a unique violation.
CREATE FUNCTION time_entry_claim_superseded() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO time_entry_successors (practice_id, supersedes, entry_id) VALUES (NEW.practice_id, NEW.supersedes, NEW.id);
	RETURN NULL;
END
$$;
CREATE TRIGGER time_entries_claim_superseded AFTER INSERT ON time_entries
	FOR EACH ROW WHEN (NEW.supersedes IS NOT NULL) EXECUTE FUNCTION time_entry_claim_superseded();

-- How long the practice keeps the words of its texts (months); older texts keep their rows with
-- an empty body (internal/history). The default keeps them as long as the record, ten years.
ALTER TABLE practices ADD COLUMN message_retention_months integer NOT NULL DEFAULT 120
	CHECK (message_retention_months BETWEEN 1 AND 1200);
