package billing

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/outreach-engine/outreach/internal/care"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/practice"
)

// monthEntries holds a month's entries, read in parts (see Store.load), with the patients'
// places in the input by internal id.
type monthEntries struct {
	index map[int64]int32
	parts []*entryPart
}

// each hands add the entries of one staff member after another (see entryPart.each).
func (me *monthEntries) each(patients []Patient, add func([]Entry)) {
	for _, part := range me.parts {
		part.each(patients, me.index, add)
	}
}

// entryPart holds entry rows (one per entry and patient) grouped by staff member, compactly: a
// large practice's month has millions of them.
type entryPart struct {
	staff  []int64      // the staff members' ids, in the order of rows
	rows   [][]entryRow // each staff member's rows
	shared []entryShared
}

// entryRow is one entry and one of its patients.
type entryRow struct {
	id         int64
	start, end int64 // microseconds since the Unix epoch
	patient    int64 // the patient's internal id
	shared     int32 // the entry's role, NPI, program, MDM and contact (entryPart.shared)
}

// entryShared is what many entries have in common: the few combinations are kept once.
type entryShared struct {
	role        Role
	npi         string
	program     care.Program
	mdm         MDM
	interactive bool
}

// loadMonthEntries reads the entries of the practice that overlap [start, end) of the staff
// members whose internal id is part modulo parts.
func loadMonthEntries(ctx context.Context, q db.Querier, p practice.ID, start, end time.Time, parts, part int) (*entryPart, error) {
	rows, err := q.QueryContext(ctx, selectMonthEntries, int64(p), start, end, parts, part)
	if err != nil {
		return nil, fmt.Errorf("error loading time entries: %w", err)
	}
	defer rows.Close()
	me := &entryPart{}
	group := map[int64]int{}     // staff id → index in me.rows
	combos := map[string]int32{} // the shared fields, joined → index in me.shared
	var key []byte               // the shared fields of a row, joined
	var role, npi, program, mdm sql.RawBytes
	var staffID int64
	var interactive bool
	for rows.Next() {
		var r entryRow
		if err := rows.Scan(&r.id, &staffID, &role, &npi, &program, &r.start, &r.end, &mdm, &interactive, &r.patient); err != nil {
			return nil, fmt.Errorf("error reading time entries: %w", err)
		}
		key = append(append(append(append(append(key[:0], role...), 0), npi...), 0), program...)
		key = append(append(append(key, 0), mdm...), 0)
		if interactive {
			key = append(key, 1)
		}
		c, ok := combos[string(key)]
		if !ok {
			c = int32(len(me.shared))
			combos[string(key)] = c
			me.shared = append(me.shared, entryShared{role: Role(role), npi: string(npi), program: care.Program(program),
				mdm: MDM(mdm), interactive: interactive})
		}
		r.shared = c
		g, ok := group[staffID]
		if !ok {
			g = len(me.rows)
			group[staffID] = g
			me.staff = append(me.staff, staffID)
			me.rows = append(me.rows, nil)
		}
		me.rows[g] = append(me.rows[g], r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("error reading time entries: %w", err)
	}
	return me, nil
}

// each hands add the entries of one staff member after another, with their patients' ids
// (places in patients by internal id in index; "" for none of the practice's) sorted: the
// remainder seconds of a shared entry go to the first ids. Each comes in slices of its own (see
// StaffEntries); each staff member's rows are let go once handed.
func (me *entryPart) each(patients []Patient, index map[int64]int32, add func([]Entry)) {
	for g, rows := range me.rows {
		slices.SortFunc(rows, func(a, b entryRow) int { return cmp.Compare(a.id, b.id) })
		staff := strconv.FormatInt(me.staff[g], 10)
		entries, ids := make([]Entry, 0, len(rows)), make([]string, 0, len(rows))
		for i := 0; i < len(rows); {
			r := rows[i]
			first := len(ids)
			for ; i < len(rows) && rows[i].id == r.id; i++ {
				id := ""
				if p, ok := index[rows[i].patient]; ok {
					id = patients[p].ID
				}
				ids = append(ids, id)
			}
			sh := me.shared[r.shared]
			entries = append(entries, Entry{ID: r.id, Staff: staff, Role: sh.role, NPI: sh.npi, Program: sh.program,
				Start: time.UnixMicro(r.start), End: time.UnixMicro(r.end), MDM: sh.mdm, Interactive: sh.interactive,
				Patients: ids[first:len(ids):len(ids)]})
		}
		for _, e := range entries {
			slices.Sort(e.Patients)
		}
		add(entries)
		me.rows[g] = nil
	}
}
