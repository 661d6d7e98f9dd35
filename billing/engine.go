package billing

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"runtime"
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

// Next is the next code within reach and the whole minutes still needed for it, and what else
// it needs beyond the minutes, if anything.
type Next struct {
	Code          Code  `json:"code"`
	MinutesNeeded int64 `json:"minutes_needed"`
	Needs         Need  `json:"needs,omitempty"`
	ValueCents    int64 `json:"-"` // what reaching it adds
}

// Need is what a next code needs besides time.
type Need string

// Needs.
const (
	NeedsInteractiveContact Need = "interactive_contact" // RPM management: a real-time two-way conversation in the month
)

// Row is one patient's result for one program in the month.
type Row struct {
	Patient    string       `json:"patient"`
	Program    care.Program `json:"program"`
	BillingNPI string       `json:"billing_npi"`
	Seconds    int64        `json:"seconds"` // counted toward the row's codes
	// Days is, on RPM rows only, how many days of the period hold device data (a reading that
	// is not manual), whatever the row's status.
	Days *int `json:"days,omitempty"`
	// UncountedSeconds is time that would count but that the row's lane does not use: staff
	// time beside a practitioner lane (99491, 99424). Left out of the JSON when zero.
	UncountedSeconds int64      `json:"uncounted_seconds,omitempty"`
	Status           Status     `json:"status"`
	Codes            []CodeLine `json:"codes"`
	AmountCents      int64      `json:"amount_cents"`
	Reasons          []Reason   `json:"reasons"`
	Next             *Next      `json:"next"`
	// DeviceNext is, on eligible RPM rows below 16 days, the next device supply code and the
	// days of data it still needs.
	DeviceNext *DeviceNext `json:"device_next,omitempty"`
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
// patients with no time yet show up with the minutes they still need (MonthReport.WithoutIdle
// leaves those out of the report as shown by default). Of a patient's CCM and PCM, only one is
// billed (see onlyOne). Rows are sorted by patient, then program.
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
	t, err := countAll(in, patients, entries, runtime.GOMAXPROCS(0))
	if err != nil {
		return Report{}, err
	}
	rep := Report{Month: in.Month.String(), Timezone: in.Location.String(), Rows: []Row{}}
	for _, id := range slices.Sorted(maps.Keys(patients)) {
		p := patients[id]
		first := len(rep.Rows)
		for _, prog := range reported {
			tl, logged := t[id][prog]
			if !logged && !slices.Contains(p.Programs, prog) && (prog != care.RPM || p.Device.Days == 0) {
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
		onlyOne(rep.Rows[first:], in.SamePractitioner)
	}
	return rep, nil
}

func programRow(in Input, p *Patient, prog care.Program, t tally, services []BilledService) (Row, error) {
	row := Row{Patient: p.ID, Program: prog, BillingNPI: p.BillingNPI, Seconds: t.seconds, Codes: []CodeLine{}, Reasons: []Reason{}}
	var lines []line
	var nx *next
	var dnx *DeviceNext
	counted := t.seconds
	if prog == care.RPM {
		days := p.Device.Days
		row.Days = &days
	}
	if rs := eligibility(p, prog, in.Month, in.Location); len(rs) > 0 {
		row.Status, row.Reasons = NotEligible, rs
	} else if rs := exclusions(p, prog, services, in.Month); len(rs) > 0 {
		row.Status, row.Reasons = Excluded, rs
	} else {
		var rs []Reason
		switch prog {
		case care.CCM:
			lines, nx, rs, counted = ccmLines(t, p.PractitionerTrack)
		case care.PCM:
			lines, nx, rs, counted = pcmLines(t, p.PCMPractitionerTrack)
		case care.RPM:
			lines, nx, rs = rpmLines(t)
			var device []line
			device, dnx = deviceLines(p.Device)
			if len(device) > 0 { // billable for its device codes: the minutes are not below a threshold that matters
				rs = slices.DeleteFunc(rs, func(r Reason) bool { return r == ReasonBelowThreshold })
			}
			lines = append(lines, device...)
		case care.BHI:
			if t.seconds >= min20 {
				lines = []line{{Code99484, 1}}
			} else {
				nx = &next{code: Code99484, seconds: min20 - t.seconds}
				rs = []Reason{ReasonBelowThreshold}
			}
		case care.G0506:
			lines, rs = g0506Lines(p, services, in.Month)
		}
		row.Reasons = append(row.Reasons, rs...)
		row.Seconds, row.UncountedSeconds = counted, t.seconds-counted
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
		row.Next = &Next{Code: nx.code, MinutesNeeded: (max(nx.seconds, 0) + 59) / 60, Needs: nx.needs, ValueCents: value}
	}
	if dnx != nil && (row.Status == Billable || row.Status == BelowThreshold) {
		value, err := deviceNextValue(in, p.Device, dnx)
		if err != nil {
			return Row{}, err
		}
		dnx.ValueCents = value
		row.DeviceNext = dnx
	}
	return row, nil
}

// onlyOne bills one of a patient's CCM and PCM rows when both are billable: the same
// practitioner may not bill both in a month (a patient has one billing practitioner, who
// furnishes both). The practice's choice decides which; the other row is excluded, with the
// reason naming the program billed instead.
func onlyOne(rows []Row, choice Choice) {
	ccm, pcm := -1, -1
	for i, r := range rows {
		switch {
		case r.Program == care.CCM && r.Status == Billable:
			ccm = i
		case r.Program == care.PCM && r.Status == Billable:
			pcm = i
		}
	}
	if ccm < 0 || pcm < 0 {
		return
	}
	out, reason := pcm, ReasonExcludedCCMSame
	switch choice {
	case ChoosePCM:
		out, reason = ccm, ReasonExcludedPCMSame
	case ChooseCCM:
	default:
		if rows[pcm].AmountCents > rows[ccm].AmountCents {
			out, reason = ccm, ReasonExcludedPCMSame
		}
	}
	r := &rows[out]
	r.Status, r.Codes, r.AmountCents, r.Next = Excluded, []CodeLine{}, 0, nil
	r.Reasons = []Reason{reason}
}

// rpmLines applies the RPM management codes: 99457 at 20 minutes with 99458 for each further
// full 20 (at most 3), or 99470 for 10 to 19 minutes; never 99470 with 99457. Each needs an
// interactive contact in the month: without one, the row bills nothing, says
// no_interactive_contact when there is time for it, and its next code says it needs the contact.
func rpmLines(t tally) ([]line, *next, []Reason) {
	lines, nx := rpmTime(t.seconds)
	if t.interactive {
		if lines == nil {
			return nil, nx, []Reason{ReasonBelowThreshold}
		}
		return lines, nx, nil
	}
	var rs []Reason
	if lines == nil {
		rs = append(rs, ReasonBelowThreshold)
	} else {
		nx = &next{code: lines[0].code} // the time is there
	}
	if t.seconds > 0 {
		rs = append(rs, ReasonNoInteractiveContact)
	}
	nx.needs = NeedsInteractiveContact
	return nil, nx, rs
}

// rpmTime returns the RPM management codes the time reaches, and the next one.
func rpmTime(s int64) ([]line, *next) {
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
		return lines, &next{code: Code99458, seconds: min20*int64(add+2) - s}
	case s >= min10:
		return []line{{Code99470, 1}}, &next{code: Code99457, seconds: min20 - s}
	default:
		return nil, &next{code: Code99470, seconds: min10 - s}
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

// WorkItem is a patient close to their next threshold: minutes of time, or days of device data.
type WorkItem struct {
	Patient       string       `json:"patient"`
	Program       care.Program `json:"program"`
	Code          Code         `json:"code"`
	MinutesNeeded int64        `json:"minutes_needed"`
	Needs         Need         `json:"needs,omitempty"` // besides the minutes: an interactive contact for RPM
	// DaysNeeded is, for a device supply code, the days of device data still needed this month.
	DaysNeeded int `json:"days_needed,omitempty"`
	// MonthHasDays says, for a device supply code, whether the month still has as many days
	// left as DaysNeeded (today included): false when the code is out of reach this month.
	MonthHasDays *bool `json:"month_has_days,omitempty"`
	ValueCents   int64 `json:"value_cents"`
	DaysLeft     int   `json:"days_left"`
}

// Worklist returns the rows within reach of their next code (at most within minutes; 0 for RPM
// time that only lacks an interactive contact), while the month still has days left at now,
// most valuable first, then fewest minutes needed. A row with no counted time this month is
// never listed, however wide the window: nothing has been started, so it is no closer to a
// code than any enrolled patient (the report with all rows lists them). An item that needs an
// interactive contact says so.
//
// RPM rows with device data this month and fewer than 16 days are listed too, whatever the
// window, with the next device supply code (99445 under 2 days, 99454 under 16), the days of
// data still needed, and whether the month's days left (today included) are enough for them.
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
		if dn := r.DeviceNext; dn != nil && r.Days != nil && *r.Days > 0 {
			enough := dn.DaysNeeded <= days
			items = append(items, WorkItem{Patient: r.Patient, Program: r.Program, Code: dn.Code, DaysNeeded: dn.DaysNeeded,
				MonthHasDays: &enough, ValueCents: dn.ValueCents, DaysLeft: days})
		}
		if r.Next == nil || r.Next.MinutesNeeded > within || r.Seconds == 0 {
			continue
		}
		items = append(items, WorkItem{Patient: r.Patient, Program: r.Program, Code: r.Next.Code,
			MinutesNeeded: r.Next.MinutesNeeded, Needs: r.Next.Needs, ValueCents: r.Next.ValueCents, DaysLeft: days})
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
