// Package history keeps the tables of history (texts, check-in answers, audit events and time
// entries) partitioned by calendar month: it makes each month's partition ahead of time, moves
// rows that landed in a table's DEFAULT partition into their month's partition when it is made,
// lists the partitions with their sizes, and detaches, archives and drops the months past their
// retention.
//
// Partitions are named <table>_pYYYYMM and hold one UTC calendar month of the table's partition
// key; <table>_default holds any row no month's partition takes. Partition work is DDL: it runs
// as the owner of the tables (the migrating user), never as the engine's database role.
package history

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/outreach-engine/outreach/internal/db"
)

// Table is a table partitioned by month on the timestamp column Key.
type Table struct {
	Name string
	Key  string
}

// Tables are the tables of history, partitioned by month (migration 0016).
var Tables = []Table{
	{Name: "messages", Key: "created_at"},
	{Name: "checkin_answers", Key: "answered_at"},
	{Name: "audit_log", Key: "at"},
	{Name: "time_entries", Key: "started_at"},
}

// Ahead is how many months after the current one Ensure makes partitions for by default.
const Ahead = 3

// upkeepLock is the key of the transaction-level advisory lock that serialises partition work
// of replicas and commands running at once.
const upkeepLock = 0x6f7574686973746f // "outhisto"

// lockTimeout bounds how long partition DDL waits for a table's lock: while it waits, the
// table's readers and writers queue behind it, so it gives up early and tries again at the next
// upkeep rather than stall traffic behind a long report.
const lockTimeout = "2s"

// Month is the first instant of a UTC calendar month.
type Month time.Time

// MonthOf returns the UTC month that holds t.
func MonthOf(t time.Time) Month {
	t = t.UTC()
	return Month(time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC))
}

// Start is the month's first instant.
func (m Month) Start() time.Time { return time.Time(m) }

// End is the first instant of the next month.
func (m Month) End() time.Time { return time.Time(m).AddDate(0, 1, 0) }

// Add returns the month n months later (earlier for n < 0).
func (m Month) Add(n int) Month { return Month(time.Time(m).AddDate(0, n, 0)) }

// String formats the month as YYYY-MM.
func (m Month) String() string { return time.Time(m).Format("2006-01") }

// PartitionName is the name of table's partition for month m.
func PartitionName(table string, m Month) string {
	return table + "_p" + time.Time(m).Format("200601")
}

// DefaultName is the name of table's DEFAULT partition.
func DefaultName(table string) string { return table + "_default" }

// Created is a partition Ensure made, with the rows it moved there from the DEFAULT partition.
type Created struct {
	Table     string
	Partition string
	Month     Month
	Moved     int64
}

// Ensure makes, for every table of history, the partitions of the months from the one holding
// now through ahead months later, and of every month that has rows in the DEFAULT partition,
// moving those rows into their month's partition. It is idempotent and safe to run from several
// processes at once (they take turns under an advisory lock). Each table is one transaction.
func Ensure(ctx context.Context, d *sqlx.DB, now time.Time, ahead int) ([]Created, error) {
	var all []Created
	for _, t := range Tables {
		var made []Created
		err := db.WithTx(ctx, d, func(tx *sqlx.Tx) error {
			var err error
			made, err = ensureTable(ctx, tx, t, now, ahead)
			return err
		})
		if err != nil {
			return all, fmt.Errorf("error making the partitions of %s: %w", t.Name, err)
		}
		all = append(all, made...)
	}
	return all, nil
}

// lock takes the upkeep lock for the transaction and bounds its lock waits.
func lock(ctx context.Context, tx *sqlx.Tx) error {
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(upkeepLock)); err != nil {
		return fmt.Errorf("error taking the partition lock: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `SET LOCAL lock_timeout = '`+lockTimeout+`'`); err != nil {
		return fmt.Errorf("error setting the lock timeout: %w", err)
	}
	return nil
}

const selectPartitionNames = `
SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = to_regclass($1)`

// attached returns the names of the partitions attached to table.
func attached(ctx context.Context, q db.Querier, table string) (map[string]bool, error) {
	var names []string
	if err := q.SelectContext(ctx, &names, selectPartitionNames, table); err != nil {
		return nil, fmt.Errorf("error listing the partitions of %s: %w", table, err)
	}
	set := make(map[string]bool, len(names))
	for _, n := range names {
		set[n] = true
	}
	return set, nil
}

func ensureTable(ctx context.Context, tx *sqlx.Tx, t Table, now time.Time, ahead int) ([]Created, error) {
	if err := lock(ctx, tx); err != nil {
		return nil, err
	}
	have, err := attached(ctx, tx, t.Name)
	if err != nil {
		return nil, err
	}
	if !have[DefaultName(t.Name)] {
		return nil, fmt.Errorf("%s has no DEFAULT partition %s", t.Name, DefaultName(t.Name))
	}
	var stray []time.Time
	q := fmt.Sprintf(`SELECT DISTINCT date_trunc('month', %s AT TIME ZONE 'UTC') FROM %s`,
		pq.QuoteIdentifier(t.Key), pq.QuoteIdentifier(DefaultName(t.Name)))
	if err := tx.SelectContext(ctx, &stray, q); err != nil {
		return nil, fmt.Errorf("error reading the months of %s: %w", DefaultName(t.Name), err)
	}
	want := map[Month]bool{}
	first := MonthOf(now)
	for i := 0; i <= ahead; i++ {
		want[first.Add(i)] = false
	}
	for _, s := range stray {
		want[Month(time.Date(s.Year(), s.Month(), 1, 0, 0, 0, 0, time.UTC))] = true
	}
	var made []Created
	for _, m := range sortedMonths(want) {
		name := PartitionName(t.Name, m)
		if have[name] {
			continue
		}
		var moved int64
		if want[m] {
			moved, err = createMoving(ctx, tx, t, m)
		} else {
			err = create(ctx, tx, t, m)
		}
		if err != nil {
			return made, err
		}
		made = append(made, Created{Table: t.Name, Partition: name, Month: m, Moved: moved})
	}
	return made, nil
}

// create makes month m's partition of t when the DEFAULT partition holds none of its rows.
func create(ctx context.Context, tx *sqlx.Tx, t Table, m Month) error {
	stmt := fmt.Sprintf(`CREATE TABLE %s PARTITION OF %s FOR VALUES FROM (%s) TO (%s)`,
		pq.QuoteIdentifier(PartitionName(t.Name, m)), pq.QuoteIdentifier(t.Name), bound(m.Start()), bound(m.End()))
	if _, err := tx.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("error creating partition %s: %w", PartitionName(t.Name, m), err)
	}
	return nil
}

// createMoving makes month m's partition of t when the DEFAULT partition holds rows of that
// month, which PostgreSQL would refuse: the DEFAULT partition is detached (which also takes its
// copies of the table's triggers off it), the month's rows move from it into a new table, which
// is attached as the month's partition, and the DEFAULT partition is attached again. No trigger
// of the table sees the move: the rows are neither new nor gone.
func createMoving(ctx context.Context, tx *sqlx.Tx, t Table, m Month) (int64, error) {
	parent, def, part := pq.QuoteIdentifier(t.Name), pq.QuoteIdentifier(DefaultName(t.Name)), pq.QuoteIdentifier(PartitionName(t.Name, m))
	key := pq.QuoteIdentifier(t.Key)
	var moved int64
	steps := []string{
		fmt.Sprintf(`ALTER TABLE %s DETACH PARTITION %s`, parent, def),
		fmt.Sprintf(`CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`, part, parent),
		fmt.Sprintf(`WITH moved AS (DELETE FROM %s WHERE %s >= %s AND %s < %s RETURNING *) INSERT INTO %s SELECT * FROM moved`,
			def, key, bound(m.Start()), key, bound(m.End()), part),
		fmt.Sprintf(`ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM (%s) TO (%s)`, parent, part, bound(m.Start()), bound(m.End())),
		fmt.Sprintf(`ALTER TABLE %s ATTACH PARTITION %s DEFAULT`, parent, def),
	}
	for i, stmt := range steps {
		res, err := tx.ExecContext(ctx, stmt)
		if err != nil {
			return 0, fmt.Errorf("error moving rows of %s into partition %s: %w", DefaultName(t.Name), PartitionName(t.Name, m), err)
		}
		if i == 2 {
			if moved, err = res.RowsAffected(); err != nil {
				return 0, fmt.Errorf("error counting the rows moved into %s: %w", PartitionName(t.Name, m), err)
			}
		}
	}
	return moved, nil
}

// bound is a partition bound literal for t.
func bound(t time.Time) string {
	return pq.QuoteLiteral(t.UTC().Format("2006-01-02 15:04:05+00"))
}

func sortedMonths(set map[Month]bool) []Month {
	ms := make([]Month, 0, len(set))
	for m := range set {
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b Month) int { return time.Time(a).Compare(time.Time(b)) })
	return ms
}

// Partition is one partition of a table of history as the catalog describes it.
type Partition struct {
	Table string `db:"parent"`
	Name  string `db:"name"`
	Bound string `db:"bound"` // FOR VALUES FROM (...) TO (...), or DEFAULT
	Rows  int64  `db:"rows"`  // the planner's estimate; -1 before the first ANALYZE
	Bytes int64  `db:"bytes"` // table, indexes and TOAST
}

// Default reports whether p is its table's DEFAULT partition.
func (p Partition) Default() bool { return p.Name == DefaultName(p.Table) }

// Month returns the month p holds, read from its name; ok is false for the DEFAULT partition
// or a name of another form.
func (p Partition) Month() (Month, bool) {
	s, found := strings.CutPrefix(p.Name, p.Table+"_p")
	if !found {
		return Month{}, false
	}
	t, err := time.Parse("200601", s)
	if err != nil {
		return Month{}, false
	}
	return Month(t), true
}

const selectPartitions = `
SELECT p.relname AS parent, c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound,
	c.reltuples::bigint AS rows, pg_total_relation_size(c.oid) AS bytes
FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
JOIN pg_class p ON p.oid = i.inhparent
WHERE i.inhparent = ANY ($1::regclass[])
ORDER BY p.relname, c.relname`

// List returns the partitions of the tables of history, by table and name.
func List(ctx context.Context, q db.Querier) ([]Partition, error) {
	names := make([]string, len(Tables))
	for i, t := range Tables {
		names[i] = t.Name
	}
	var ps []Partition
	if err := q.SelectContext(ctx, &ps, selectPartitions, pq.Array(names)); err != nil {
		return nil, fmt.Errorf("error listing partitions: %w", err)
	}
	return ps, nil
}
