package timelog

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/outreach-engine/outreach/internal/csvfile"
)

// exportHeader lists the columns of an audit export.
var exportHeader = []string{
	"entry_id", "status", "supersedes", "superseded_by", "amend_reason", "patients", "patient_seconds",
	"staff", "staff_name", "credential", "role", "npi", "program", "date", "started_at", "ended_at",
	"timezone", "seconds", "activity", "note", "changed", "mdm", "interactive", "source",
	"created_by", "created_by_name", "created_at",
}

// status is the state of an entry version in an export: void, superseded or current.
func (e Entry) status() string {
	switch {
	case e.Voided:
		return "void"
	case e.SupersededBy != nil:
		return "superseded"
	default:
		return "current"
	}
}

// Export writes every version of the entries overlapping [from, to) as CSV, with every audit
// element: who (id, name, credential, role, NPI at the time), when (instants in loc, with the
// zone), what (program, activity, note, what changed, MDM), for shared activities each
// patient's share, the trail of amendments and voids with their reasons, and who recorded each
// version (id and name: the staff member, or a manager on their behalf). No cell is written
// that a spreadsheet would run as a formula.
func (s *Service) Export(ctx context.Context, w io.Writer, from, to time.Time, loc *time.Location) error {
	entries, err := s.List(ctx, ListFilter{From: from, To: to, AllVersion: true})
	if err != nil {
		return err
	}
	cw := csvfile.NewWriter(w)
	if err := cw.Write(exportHeader); err != nil {
		return fmt.Errorf("error writing export: %w", err)
	}
	opt := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	optID := func(p *EntryID) string {
		if p == nil {
			return ""
		}
		return strconv.FormatInt(int64(*p), 10)
	}
	for _, e := range entries {
		shares := SplitSeconds(e.Seconds, len(e.Patients))
		parts := make([]string, len(e.Patients))
		for i, p := range e.Patients {
			parts[i] = fmt.Sprintf("%s:%d", p, shares[i])
		}
		start, end := e.StartedAt.In(loc), e.EndedAt.In(loc)
		rec := []string{
			strconv.FormatInt(int64(e.ID), 10), e.status(), optID(e.Supersedes), optID(e.SupersededBy),
			opt(e.AmendReason), strings.Join(e.Patients, ";"), strings.Join(parts, ";"),
			e.Staff, e.StaffName, e.StaffCredential, e.StaffRole, opt(e.StaffNPI), string(e.Program),
			start.Format(time.DateOnly), start.Format(time.RFC3339), end.Format(time.RFC3339), loc.String(),
			strconv.FormatInt(e.Seconds, 10), string(e.Activity), e.Note, string(e.Changed), string(e.MDM),
			strconv.FormatBool(e.Interactive), string(e.Source), e.CreatedBy, e.CreatedByName, e.CreatedAt.In(loc).Format(time.RFC3339),
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("error writing export: %w", err)
		}
	}
	if err := cw.Flush(); err != nil {
		return fmt.Errorf("error writing export: %w", err)
	}
	return nil
}

// SplitSeconds splits a shared activity's seconds evenly among n patients (in the order given,
// which is by patient id): each gets seconds/n, and the first seconds%n get one more, so that
// the shares add up to the whole.
func SplitSeconds(seconds int64, n int) []int64 {
	if n <= 0 {
		return nil
	}
	shares := make([]int64, n)
	for i := range shares {
		shares[i] = seconds / int64(n)
		if int64(i) < seconds%int64(n) {
			shares[i]++
		}
	}
	return shares
}
