package billing

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/outreach-engine/outreach/internal/care"
)

// CodeLine is a billed code with its units and amount.
type CodeLine struct {
	Code        Code  `json:"code"`
	Units       int   `json:"units"`
	AmountCents int64 `json:"amount_cents"`
}

// Next is the next code within reach and the whole minutes still needed for it.
type Next struct {
	Code          Code  `json:"code"`
	MinutesNeeded int64 `json:"minutes_needed"`
	ValueCents    int64 `json:"-"` // what reaching it adds
}

// Row is one patient's result for one program in the month.
type Row struct {
	Patient     string       `json:"patient"`
	Program     care.Program `json:"program"`
	BillingNPI  string       `json:"billing_npi"`
	Seconds     int64        `json:"seconds"`
	Status      Status       `json:"status"`
	Codes       []CodeLine   `json:"codes"`
	AmountCents int64        `json:"amount_cents"`
	Reasons     []Reason     `json:"reasons"`
	Next        *Next        `json:"next"`
}

// Report is a month's billing report.
type Report struct {
	Month    string `json:"month"`
	Timezone string `json:"timezone"`
	Rows     []Row  `json:"rows"`
}

// reported lists the programs that get rows, in row order. TCM time is reported by its own codes
// elsewhere and never counts here.
var reported = []care.Program{care.CCM, care.RPM, care.BHI, care.PCM, care.G0506}

// Compute computes the month's report from in.Entries. Each patient gets one row per program they
// are enrolled in (CCM, RPM, BHI, PCM) and per program with time logged in the month, so that
// patients with no time yet show up with the minutes they still need. Rows are sorted by patient,
// then program.
func Compute(in Input) (Report, error) {
	return ComputeFrom(in, func(add func([]Entry)) error {
		byStaff := map[string][]Entry{}
		for _, e := range in.Entries {
			byStaff[e.Staff] = append(byStaff[e.Staff], e)
		}
		for _, entries := range byStaff {
			add(entries)
		}
		return nil
	})
}

// ComputeFrom computes the month's report like Compute, taking the entries from entries instead
// of in.Entries, one staff member at a time.
func ComputeFrom(in Input, entries StaffEntries) (Report, error) {
	if in.Location == nil {
		return Report{}, fmt.Errorf("error computing report: no time zone")
	}
	if len(in.Rates[in.Month.Year]) == 0 {
		return Report{}, fmt.Errorf("error computing report: the rate table has no rates for %d; load them with the rates file", in.Month.Year)
	}
	patients := make(map[string]*Patient, len(in.Patients))
	for i := range in.Patients {
		patients[in.Patients[i].ID] = &in.Patients[i]
	}
	servicesOf := map[string][]BilledService{}
	for _, s := range in.Services {
		servicesOf[s.Patient] = append(servicesOf[s.Patient], s)
	}
	c := newCounter(in, patients)
	if err := entries(c.add); err != nil {
		return Report{}, err
	}
	t := c.t
	rep := Report{Month: in.Month.String(), Timezone: in.Location.String(), Rows: []Row{}}
	ids := make([]string, 0, len(patients))
	for id := range patients {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		p := patients[id]
		for _, prog := range reported {
			tl, logged := t[id][prog]
			if !logged && !slices.Contains(p.Programs, prog) {
				continue
			}
			if tl == nil {
				tl = &tally{}
			}
			row, err := programRow(in, p, prog, *tl, servicesOf[id])
			if err != nil {
				return Report{}, err
			}
			rep.Rows = append(rep.Rows, row)
		}
	}
	return rep, nil
}

func programRow(in Input, p *Patient, prog care.Program, t tally, services []BilledService) (Row, error) {
	row := Row{Patient: p.ID, Program: prog, BillingNPI: p.BillingNPI, Seconds: t.seconds, Codes: []CodeLine{}, Reasons: []Reason{}}
	var lines []line
	var nx *next
	switch prog {
	case care.CCM:
		if rs := eligibility(p, in.Month, in.Location); len(rs) > 0 {
			row.Status, row.Reasons = NotEligible, rs
			break
		}
		if rs := exclusions(p, services, in.Month); len(rs) > 0 {
			row.Status, row.Reasons = Excluded, rs
			break
		}
		var rs []Reason
		lines, nx, rs = ccmLines(t, p.PractitionerTrack)
		row.Reasons = append(row.Reasons, rs...)
	case care.RPM:
		lines, nx = rpmLines(t)
		if !t.interactive && lines != nil {
			// The time is there; an interactive contact is what is missing.
			row.Reasons = append(row.Reasons, ReasonNoInteractiveContact)
			nx = &next{lines[0].code, 0}
			lines = nil
		}
		if lines == nil {
			row.Reasons = append(row.Reasons, ReasonBelowThreshold)
		}
	case care.BHI:
		if t.seconds >= min20 {
			lines = []line{{Code99484, 1}}
		} else {
			nx = &next{Code99484, min20 - t.seconds}
			row.Reasons = append(row.Reasons, ReasonBelowThreshold)
		}
	case care.PCM:
		if t.seconds >= min30 {
			lines = []line{{Code99426, 1}}
			add := int((t.seconds - min30) / min30)
			if add > 0 {
				lines = append(lines, line{Code99427, add})
			}
			nx = &next{Code99427, min30*int64(add+2) - t.seconds}
		} else {
			nx = &next{Code99426, min30 - t.seconds}
			row.Reasons = append(row.Reasons, ReasonBelowThreshold)
		}
	case care.G0506:
		lines, row.Reasons = g0506Lines(p, services, in.Month)
	}
	if t.conflict {
		row.Reasons = append(row.Reasons, ReasonTimeConflict)
	}
	for _, l := range lines {
		amount, err := in.Rates.Amount(in.Month.Year, l.code, in.FeeSchedule)
		if err != nil {
			return Row{}, err
		}
		row.Codes = append(row.Codes, CodeLine{Code: l.code, Units: l.units, AmountCents: amount * int64(l.units)})
		row.AmountCents += amount * int64(l.units)
	}
	switch {
	case row.Status != "":
	case len(row.Codes) > 0:
		row.Status = Billable
	default:
		row.Status = BelowThreshold
	}
	if nx != nil && (row.Status == Billable || row.Status == BelowThreshold) {
		value, err := in.Rates.Amount(in.Month.Year, nx.code, in.FeeSchedule)
		if err != nil {
			return Row{}, err
		}
		if nx.code == Code99487 { // replaces the 99490 + 99439 already reached
			value -= row.AmountCents
		}
		row.Next = &Next{Code: nx.code, MinutesNeeded: (max(nx.seconds, 0) + 59) / 60, ValueCents: value}
	}
	return row, nil
}

// rpmLines applies the RPM management codes: 99457 at 20 minutes with 99458 for each further
// full 20 (at most 3), or 99470 for 10 to 19 minutes; never 99470 with 99457.
func rpmLines(t tally) ([]line, *next) {
	s := t.seconds
	switch {
	case s >= min20:
		lines := []line{{Code99457, 1}}
		add := min(3, int((s-min20)/min20))
		if add > 0 {
			lines = append(lines, line{Code99458, add})
		}
		if add == 3 {
			return lines, nil
		}
		return lines, &next{Code99458, min20*int64(add+2) - s}
	case s >= min10:
		return []line{{Code99470, 1}}, &next{Code99457, min20 - s}
	default:
		return nil, &next{Code99470, min10 - s}
	}
}

// g0506Lines bills care planning at initiation once per initiation: not again when G0506 was
// already billed on or after the initiating visit, before this month.
func g0506Lines(p *Patient, services []BilledService, m Month) ([]line, []Reason) {
	if p.InitiatingVisit.IsZero() || p.InitiatingVisit.After(m.LastDay()) {
		return nil, []Reason{ReasonNoInitiatingVisit}
	}
	for _, s := range services {
		if s.Code == CodeG0506 && !s.Date.Before(p.InitiatingVisit) && s.Date.Before(m.FirstDay()) {
			return nil, []Reason{ReasonG0506AlreadyBilled}
		}
	}
	return []line{{CodeG0506, 1}}, []Reason{}
}

// WorkItem is a patient close to their next threshold.
type WorkItem struct {
	Patient       string       `json:"patient"`
	Program       care.Program `json:"program"`
	Code          Code         `json:"code"`
	MinutesNeeded int64        `json:"minutes_needed"`
	ValueCents    int64        `json:"value_cents"`
	DaysLeft      int          `json:"days_left"`
}

// Worklist returns the rows within reach of their next code (at most within minutes; 0 for RPM
// time that only lacks an interactive contact), while the month still has days left at now,
// most valuable first, then fewest minutes needed.
func Worklist(rep Report, now time.Time, loc *time.Location, within int64) []WorkItem {
	m, err := ParseMonth(rep.Month)
	if err != nil {
		return nil
	}
	start, end := m.Bounds(loc)
	if !now.Before(end) {
		return []WorkItem{}
	}
	days := m.LastDay().Day()
	if now.After(start) {
		days -= now.In(loc).Day() - 1
	}
	items := []WorkItem{}
	for _, r := range rep.Rows {
		if r.Next == nil || r.Next.MinutesNeeded > within {
			continue
		}
		items = append(items, WorkItem{Patient: r.Patient, Program: r.Program, Code: r.Next.Code,
			MinutesNeeded: r.Next.MinutesNeeded, ValueCents: r.Next.ValueCents, DaysLeft: days})
	}
	slices.SortStableFunc(items, func(a, b WorkItem) int {
		if a.ValueCents != b.ValueCents {
			return int(b.ValueCents - a.ValueCents)
		}
		if a.MinutesNeeded != b.MinutesNeeded {
			return int(a.MinutesNeeded - b.MinutesNeeded)
		}
		return strings.Compare(a.Patient, b.Patient)
	})
	return items
}

// jsonEncode writes v as one line of JSON.
func jsonEncode(w io.Writer, v any) error { return json.NewEncoder(w).Encode(v) }
