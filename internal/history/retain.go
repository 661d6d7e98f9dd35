package history

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
)

// MinRecordYears is the shortest retention of the record: a time entry (with its patients and
// its trail of amendments) must be kept at least ten years after the service it documents, and
// the audit events, the check-in answers and the texts' rows are kept as long.
const MinRecordYears = 10

// sidDays is how long the provider id of a received text is kept to recognise a redelivery:
// a provider re-sends a webhook within minutes.
const sidDays = 30

// Options say what Retain does.
type Options struct {
	Now         time.Time
	RecordYears int    // at least MinRecordYears
	Archive     string // a directory: archive the retired partitions there and drop them; empty: detach only
	DryRun      bool   // say what would be done, change nothing
	Practice    int64  // the practice the audit event is filed under
	Actor       audit.Actor
}

// Retired is a partition wholly past the record's horizon.
type Retired struct {
	Table     string
	Partition string
	Month     Month
	Rows      int64
	Detached  bool   // detached now (false: it was detached by an earlier run)
	File      string // the archive written, when archiving
}

// Report is what Retain did, or would do on a dry run.
type Report struct {
	Horizon    time.Time // partitions wholly before it are retired
	Partitions []Retired
	Bodies     int64 // texts whose bodies were cleared, past their practice's message retention
	SIDs       int64 // provider ids of received texts forgotten
}

// Retain applies the retention policy in one transaction: partitions of the tables of history
// that end on or before the horizon (Now less RecordYears) are detached, and, with an archive
// directory, written there (one gzip JSON-lines file per partition, a time entry with its
// patients) and dropped, with the patients, successors and timers of their time entries. A
// partition that ends after the horizon is never touched. The bodies of texts older than their
// practice's message retention are cleared; the rows stay, for threads and the record. The run
// is recorded in the audit log. Bodies are cleared first, so that a month detached and kept
// keeps no words past their retention either.
func Retain(ctx context.Context, d *sqlx.DB, o Options) (Report, error) {
	if o.RecordYears < MinRecordYears {
		return Report{}, fmt.Errorf("the record must be kept at least %d years, not %d", MinRecordYears, o.RecordYears)
	}
	rep := Report{Horizon: o.Now.UTC().AddDate(-o.RecordYears, 0, 0)}
	if o.Archive != "" && !o.DryRun {
		if err := os.MkdirAll(o.Archive, 0o700); err != nil {
			return rep, fmt.Errorf("error making the archive directory: %w", err)
		}
	}
	err := db.WithTx(ctx, d, func(tx *sqlx.Tx) error {
		if err := lock(ctx, tx); err != nil {
			return err
		}
		var err error
		if rep.Bodies, err = clearBodies(ctx, tx, o.Now); err != nil {
			return err
		}
		for _, t := range Tables {
			rs, err := retireTable(ctx, tx, t, rep.Horizon, o)
			if err != nil {
				return err
			}
			rep.Partitions = append(rep.Partitions, rs...)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM inbound_sids WHERE received_at < $1`, o.Now.AddDate(0, 0, -sidDays))
		if err != nil {
			return fmt.Errorf("error forgetting old provider ids: %w", err)
		}
		if rep.SIDs, err = res.RowsAffected(); err != nil {
			return fmt.Errorf("error counting forgotten provider ids: %w", err)
		}
		if o.DryRun {
			return errDryRun
		}
		return audit.Record(ctx, tx, auditEvent(rep, o))
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	return rep, err
}

// errDryRun rolls a dry run's transaction back.
var errDryRun = errors.New("dry run")

func auditEvent(rep Report, o Options) audit.Event {
	var detached, dropped []string
	for _, r := range rep.Partitions {
		if r.Detached {
			detached = append(detached, r.Partition)
		}
		if r.File != "" {
			dropped = append(dropped, r.Partition)
		}
	}
	return audit.Event{PracticeID: o.Practice, At: o.Now, Actor: o.Actor, Action: "history.retain", Entity: "history",
		Detail: map[string]any{"horizon": rep.Horizon.Format(time.RFC3339), "record_years": o.RecordYears,
			"detached": detached, "archived_and_dropped": dropped, "bodies_cleared": rep.Bodies, "sids_forgotten": rep.SIDs}}
}

// selectDetached finds tables named as a month's partition of a table of history that are no
// partition of it: months detached by an earlier run.
const selectDetached = `
SELECT c.relname FROM pg_class c
WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace AND c.relname ~ $1
	AND NOT c.relispartition
ORDER BY c.relname`

func retireTable(ctx context.Context, tx *sqlx.Tx, t Table, horizon time.Time, o Options) ([]Retired, error) {
	have, err := attached(ctx, tx, t.Name)
	if err != nil {
		return nil, err
	}
	var before []string
	if err := tx.SelectContext(ctx, &before, selectDetached, "^"+regexp.QuoteMeta(t.Name)+`_p[0-9]{6}$`); err != nil {
		return nil, fmt.Errorf("error listing detached partitions of %s: %w", t.Name, err)
	}
	var out []Retired
	add := func(name string, attachedNow bool) error {
		m, ok := Partition{Table: t.Name, Name: name}.Month()
		if !ok || m.End().After(horizon) {
			return nil
		}
		r := Retired{Table: t.Name, Partition: name, Month: m, Detached: attachedNow}
		if err := tx.GetContext(ctx, &r.Rows, `SELECT count(*) FROM `+pq.QuoteIdentifier(name)); err != nil {
			return fmt.Errorf("error counting the rows of %s: %w", name, err)
		}
		if attachedNow && !o.DryRun {
			if _, err := tx.ExecContext(ctx, fmt.Sprintf(`ALTER TABLE %s DETACH PARTITION %s`,
				pq.QuoteIdentifier(t.Name), pq.QuoteIdentifier(name))); err != nil {
				return fmt.Errorf("error detaching %s: %w", name, err)
			}
		}
		if o.Archive != "" {
			r.File = filepath.Join(o.Archive, name+".jsonl.gz")
			if !o.DryRun {
				if err := archive(ctx, tx, t, name, r.File); err != nil {
					return err
				}
				if err := drop(ctx, tx, t, name); err != nil {
					return err
				}
			}
		}
		out = append(out, r)
		return nil
	}
	for name := range have {
		if name == DefaultName(t.Name) {
			continue
		}
		if err := add(name, true); err != nil {
			return nil, err
		}
	}
	for _, name := range before {
		if err := add(name, false); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b Retired) int { return strings.Compare(a.Partition, b.Partition) })
	return out, nil
}

// archive writes every row of the detached partition name to file, one JSON object a line,
// gzipped; a time entry carries its patients. The file is complete and synced before the
// function returns, or removed.
func archive(ctx context.Context, tx *sqlx.Tx, t Table, name, file string) (err error) {
	q := fmt.Sprintf(`SELECT to_jsonb(r)::text FROM %s r ORDER BY r.%s`, pq.QuoteIdentifier(name), pq.QuoteIdentifier(t.Key))
	if t.Name == "time_entries" {
		q = fmt.Sprintf(`SELECT (to_jsonb(r) || jsonb_build_object('patients', coalesce((SELECT jsonb_agg(to_jsonb(p) ORDER BY p.patient_id)
			FROM time_entry_patients p WHERE p.practice_id = r.practice_id AND p.entry_id = r.id), '[]')))::text
			FROM %s r ORDER BY r.started_at, r.id`, pq.QuoteIdentifier(name))
	}
	tmp := file + ".partial"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("error creating archive %s: %w", tmp, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	zw := gzip.NewWriter(f)
	rows, err := tx.QueryxContext(ctx, q)
	if err != nil {
		return fmt.Errorf("error reading %s: %w", name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var line []byte
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("error reading %s: %w", name, err)
		}
		if _, err := zw.Write(append(line, '\n')); err != nil {
			return fmt.Errorf("error writing archive %s: %w", tmp, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("error reading %s: %w", name, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("error writing archive %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("error syncing archive %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("error closing archive %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, file); err != nil {
		return fmt.Errorf("error naming archive %s: %w", file, err)
	}
	return nil
}

// drop drops the detached, archived partition name. Dropping a month of time entries also
// removes what names its entries: their patients (append-only, so their guard is lifted for
// this transaction only, under its exclusive lock), their successor claims and the timers that
// made them.
func drop(ctx context.Context, tx *sqlx.Tx, t Table, name string) error {
	var stmts []string
	if t.Name == "time_entries" {
		n := pq.QuoteIdentifier(name)
		stmts = append(stmts,
			`ALTER TABLE time_entry_patients DISABLE TRIGGER time_entry_patients_append_only`,
			`DELETE FROM time_entry_patients p USING `+n+` e WHERE p.practice_id = e.practice_id AND p.entry_id = e.id`,
			`ALTER TABLE time_entry_patients ENABLE TRIGGER time_entry_patients_append_only`,
			`DELETE FROM time_entry_successors s USING `+n+` e WHERE s.practice_id = e.practice_id AND s.entry_id = e.id`,
			`DELETE FROM timers k USING `+n+` e WHERE k.practice_id = e.practice_id AND k.entry_id = e.id`)
	}
	stmts = append(stmts, `DROP TABLE `+pq.QuoteIdentifier(name))
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("error dropping %s: %w", name, err)
		}
	}
	return nil
}

const selectMessageRetention = `SELECT id, message_retention_months FROM practices ORDER BY id`

// clearBodies empties the bodies of texts older than their practice's message retention.
func clearBodies(ctx context.Context, tx *sqlx.Tx, now time.Time) (int64, error) {
	var ps []struct {
		ID     int64 `db:"id"`
		Months int   `db:"message_retention_months"`
	}
	if err := tx.SelectContext(ctx, &ps, selectMessageRetention); err != nil {
		return 0, fmt.Errorf("error reading message retention: %w", err)
	}
	var n int64
	for _, p := range ps {
		res, err := tx.ExecContext(ctx, `UPDATE messages SET body = '' WHERE practice_id = $1 AND created_at < $2 AND body <> ''
			AND status NOT IN ('queued', 'sending')`, p.ID, now.AddDate(0, -p.Months, 0))
		if err != nil {
			return n, fmt.Errorf("error clearing old message bodies of practice %d: %w", p.ID, err)
		}
		c, err := res.RowsAffected()
		if err != nil {
			return n, fmt.Errorf("error counting cleared message bodies: %w", err)
		}
		n += c
	}
	return n, nil
}
