package history_test

import (
	"context"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/dbtest"
)

// partitioning is the migration that partitions the tables of history.
const partitioning = 16

// oldRows fills the tables of history as the schema before the partitioning had them.
const oldRows = fixture + `
INSERT INTO messages (practice_id, patient_id, checkin_id, direction, kind, phone, body, status, twilio_sid, created_at, updated_at)
VALUES (1, 1, 1, 'out', 'question', '+15550001111', 'How are you?', 'delivered', 'SMout1', '2025-12-31T23:59:00Z', '2026-01-01Z'),
	(1, 1, 1, 'in', 'reply', '+15550001111', 'fine', 'received', 'SMin1', '2026-01-01T00:01:00Z', '2026-01-01T00:01:00Z'),
	(1, NULL, NULL, 'in', 'reply', '+15550009999', 'who is this', 'received', 'SMin2', '2026-02-10T10:00:00Z', '2026-02-10T10:00:00Z');
INSERT INTO checkin_answers (practice_id, checkin_id, question_id, value, raw, answered_at)
VALUES (1, 1, 'q1', 'fine', 'fine', '2026-01-01T00:01:00Z');
INSERT INTO audit_log (practice_id, at, actor, action, entity) VALUES (1, '2025-11-05Z', 'cli', 'test.old', 'test'), (1, '2026-01-05Z', 'cli', 'test.old', 'test');
INSERT INTO time_entries (practice_id, staff_id, staff_role, staff_credential, program, started_at, ended_at, activity, source, created_by, created_at)
VALUES (1, 1, 'clinical', 'RN', 'ccm', '2025-12-01T10:00:00Z', '2025-12-01T10:20:00Z', 'other', 'manual', 'cli', '2025-12-01T10:20:00Z');
INSERT INTO time_entries (practice_id, staff_id, staff_role, staff_credential, program, started_at, ended_at, activity, source, created_by, created_at,
	supersedes, amend_reason)
VALUES (1, 1, 'clinical', 'RN', 'ccm', '2026-01-01T10:00:00Z', '2026-01-01T10:30:00Z', 'other', 'manual', 'cli', '2026-01-02Z', 1, 'wrong day');
INSERT INTO time_entry_patients (practice_id, entry_id, patient_id) VALUES (1, 1, 1), (1, 2, 1);
INSERT INTO timers (practice_id, staff_id, patient_ids, program, activity, started_at, stopped_at, entry_id)
VALUES (1, 1, '{1}', 'ccm', 'other', '2025-12-01T10:00:00Z', '2025-12-01T10:20:00Z', 1);`

func TestMigrationKeepsTheRows(t *testing.T) {
	ctx := context.Background()
	conn := dbtest.Empty(t)
	d, err := db.Open(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ms, err := db.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	// The schema as it stood before the partitioning, recorded as Migrate records it.
	mustExec(t, d, `CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
		applied_at timestamptz NOT NULL)`)
	for _, m := range ms[:partitioning-1] {
		mustExec(t, d, m.SQL)
		mustExec(t, d, `INSERT INTO schema_migrations VALUES ($1, $2, $3, now())`, m.Version, m.Name, m.Checksum)
	}
	mustExec(t, d, oldRows)
	type snapshot struct{ Messages, Answers, Audit, Entries, Patients, Timers string }
	take := func() snapshot {
		var s snapshot
		for _, q := range []struct {
			dst *string
			sql string
		}{
			{&s.Messages, `SELECT string_agg(concat_ws('|', id, patient_id, checkin_id, direction, kind, phone, body, status, twilio_sid, created_at, updated_at), ';' ORDER BY id) FROM messages`},
			{&s.Answers, `SELECT string_agg(concat_ws('|', checkin_id, question_id, value, raw, answered_at), ';') FROM checkin_answers`},
			{&s.Audit, `SELECT string_agg(concat_ws('|', id, at, actor, action, entity, entity_id, detail), ';' ORDER BY id) FROM audit_log`},
			{&s.Entries, `SELECT string_agg(concat_ws('|', id, started_at, ended_at, supersedes, amend_reason, created_at), ';' ORDER BY id) FROM time_entries`},
			{&s.Patients, `SELECT string_agg(concat_ws('|', entry_id, patient_id), ';' ORDER BY entry_id) FROM time_entry_patients`},
			{&s.Timers, `SELECT string_agg(concat_ws('|', id, entry_id), ';') FROM timers`},
		} {
			if err := d.Get(q.dst, q.sql); err != nil {
				t.Fatalf("%s: %v", q.sql, err)
			}
		}
		return s
	}
	before := take()

	applied, err := db.Migrate(ctx, d, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) == 0 || applied[0] != partitioning {
		t.Fatalf("Migrate applied %v, want %d first", applied, partitioning)
	}
	if after := take(); after != before {
		t.Errorf("rows changed by the migration:\nbefore %+v\nafter  %+v", before, after)
	}
	for _, tb := range []string{"messages", "checkin_answers", "audit_log", "time_entries"} {
		var kind string
		if err := d.Get(&kind, `SELECT relkind::text FROM pg_class WHERE oid = $1::regclass`, tb); err != nil || kind != "p" {
			t.Errorf("%s has relkind %q (%v), want p (partitioned)", tb, kind, err)
		}
	}
	for part, rows := range map[string]int{"messages_p202512": 1, "messages_p202601": 1, "messages_p202602": 1, "checkin_answers_p202601": 1,
		"audit_log_p202511": 1, "audit_log_p202601": 1, "time_entries_p202512": 1, "time_entries_p202601": 1,
		"messages_default": 0, "audit_log_default": 0, "time_entries_default": 0, "checkin_answers_default": 0} {
		if n := count(t, d, `SELECT count(*) FROM `+part); n != rows {
			t.Errorf("%s holds %d rows, want %d", part, n, rows)
		}
	}
	// The ids go on from where they were.
	var id int64
	if err := d.Get(&id, `INSERT INTO audit_log (practice_id, at, actor, action, entity) VALUES (1, '2026-03-01Z', 'cli', 'test.new', 'test') RETURNING id`); err != nil || id != 3 {
		t.Errorf("a new audit event got id %d (%v), want 3", id, err)
	}
	if err := d.Get(&id, `INSERT INTO messages (practice_id, direction, kind, phone, body, status, created_at, updated_at)
		VALUES (1, 'in', 'reply', '+15550009999', 'x', 'received', '2026-03-01Z', '2026-03-01Z') RETURNING id`); err != nil || id != 4 {
		t.Errorf("a new message got id %d (%v), want 4", id, err)
	}
	// An entry is still superseded at most once, and a received text's provider id kept.
	_, err = d.Exec(`INSERT INTO time_entries (practice_id, staff_id, staff_role, staff_credential, program, started_at, ended_at, activity,
		source, created_by, created_at, supersedes, amend_reason)
		VALUES (1, 1, 'clinical', 'RN', 'ccm', '2026-03-01T10:00:00Z', '2026-03-01T10:30:00Z', 'other', 'manual', 'cli', '2026-03-02Z', 1, 'again')`)
	if !db.IsUniqueViolation(err) {
		t.Errorf("a second amendment of entry 1: %v, want a unique violation", err)
	}
	if n := count(t, d, `SELECT count(*) FROM inbound_sids WHERE twilio_sid IN ('SMin1', 'SMin2')`); n != 2 {
		t.Errorf("%d provider ids of received texts kept, want 2", n)
	}
	if _, err := d.Exec(`DELETE FROM time_entries`); err == nil {
		t.Error("time entries could be deleted after the migration")
	}
}
