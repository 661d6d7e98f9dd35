package billing

import (
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/outreach-engine/outreach/internal/care"
)

// interval is a half-open span of time [from, to).
type interval struct{ from, to time.Time }

func (iv interval) seconds() int64 { return int64(iv.to.Sub(iv.from) / time.Second) }

func total(ivs []interval) int64 {
	var s int64
	for _, iv := range ivs {
		s += iv.seconds()
	}
	return s
}

// subtract removes the sorted, disjoint cuts from iv.
func subtract(iv interval, cuts []interval) []interval {
	var out []interval
	cur := iv.from
	i := sort.Search(len(cuts), func(i int) bool { return cuts[i].to.After(iv.from) })
	for ; i < len(cuts) && cuts[i].from.Before(iv.to); i++ {
		if cuts[i].from.After(cur) {
			out = append(out, interval{cur, cuts[i].from})
		}
		if cuts[i].to.After(cur) {
			cur = cuts[i].to
		}
	}
	if iv.to.After(cur) {
		out = append(out, interval{cur, iv.to})
	}
	return out
}

// intersect returns the parts of the sorted, disjoint ivs inside the sorted, disjoint windows.
func intersect(ivs, windows []interval) []interval {
	var out []interval
	for _, iv := range ivs {
		for _, w := range windows {
			from, to := later(iv.from, w.from), earlier(iv.to, w.to)
			if from.Before(to) {
				out = append(out, interval{from, to})
			}
		}
	}
	return out
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// overlaps returns, for one staff member's entries, the spans covered by two or more of them:
// the time in conflict.
func overlaps(entries []Entry) []interval {
	type edge struct {
		at    time.Time
		delta int
	}
	edges := make([]edge, 0, 2*len(entries))
	for _, e := range entries {
		edges = append(edges, edge{e.Start, +1}, edge{e.End, -1})
	}
	// Ends before starts at the same instant: back-to-back entries do not overlap.
	slices.SortFunc(edges, func(a, b edge) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.delta - b.delta
	})
	var out []interval
	depth := 0
	var from time.Time
	for _, e := range edges {
		depth += e.delta
		switch {
		case depth == 2 && e.delta == +1:
			from = e.at
		case depth == 1 && e.delta == -1 && from.Before(e.at):
			if n := len(out); n > 0 && !out[n-1].to.Before(from) {
				out[n-1].to = e.at
			} else {
				out = append(out, interval{from, e.at})
			}
		}
	}
	return out
}

// tally is what counting finds for one patient and program in the month.
type tally struct {
	seconds             int64 // counted seconds
	practitionerSeconds int64 // of which the billing practitioner's own
	complexMDM          bool  // moderate or high MDM documented by the billing practitioner
	interactive         bool  // an interactive contact (RPM)
	conflict            bool  // some of the patient's time was lost to overlapping entries
}

type tallies map[string]map[care.Program]*tally

func (t tallies) get(patient string, p care.Program) *tally {
	if t[patient] == nil {
		t[patient] = map[care.Program]*tally{}
	}
	if t[patient][p] == nil {
		t[patient][p] = &tally{}
	}
	return t[patient][p]
}

// counter turns entries into counted seconds per patient and program, one staff member at a
// time, so that a month's entries never need to be held at once:
//   - only the part of an entry inside the month counts (an entry crossing local midnight at a
//     month boundary is split there), as elapsed seconds between instants, so that a timer
//     running across a DST change counts real time;
//   - where two entries of the same staff member overlap, the overlapping seconds count for
//     neither, and the patients of both are flagged with a time conflict;
//   - only clinical staff and the patient's billing practitioner count: non-clinical staff, other
//     practitioners and entries with no staff role never do;
//   - CCM, PCM and BHI time counts only inside a documented consent for the billing
//     practitioner (RPM's consent may be given when RPM is furnished: the month's eligibility
//     checks it, the time is not cut);
//   - a shared entry's counted seconds are split evenly among its patients, and the remainder
//     seconds go one each to the first patients listed.
type counter struct {
	month    interval
	patients map[string]*Patient
	consent  map[string][]interval // consent windows, computed once per patient
	t        tallies
}

func newCounter(in Input, patients map[string]*Patient) *counter {
	start, end := in.Month.Bounds(in.Location)
	return &counter{month: interval{start, end}, patients: patients, consent: map[string][]interval{}, t: tallies{}}
}

// add counts the entries of one staff member: all of them, since conflicts are found among them.
func (c *counter) add(entries []Entry) {
	conflicts := overlaps(entries)
	for _, e := range entries {
		span := interval{later(e.Start, c.month.from), earlier(e.End, c.month.to)}
		if !span.from.Before(span.to) {
			continue
		}
		counted := subtract(span, conflicts)
		lost := total(counted) < span.seconds()
		n := int64(len(e.Patients))
		for i, id := range e.Patients {
			p := c.patients[id]
			if p == nil {
				continue
			}
			tl := c.t.get(id, e.Program)
			tl.conflict = tl.conflict || lost
			own := e.Role == Practitioner && e.NPI != "" && e.NPI == p.BillingNPI
			if e.Role != Clinical && !own {
				continue
			}
			if e.Program == care.RPM && e.Interactive {
				tl.interactive = true
			}
			if own && e.Program == care.CCM && (e.MDM == MDMModerate || e.MDM == MDMHigh) {
				tl.complexMDM = true
			}
			ivs := counted
			if consentBound(e.Program) {
				w, ok := c.consent[id]
				if !ok {
					w = consentWindows(p)
					c.consent[id] = w
				}
				ivs = intersect(counted, w)
			}
			secs := total(ivs)
			share := secs / n
			if int64(i) < secs%n {
				share++
			}
			tl.seconds += share
			if own {
				tl.practitionerSeconds += share
			}
		}
	}
}

// countAll counts what entries hands over on up to workers goroutines, each with a counter of
// its own, and merges their tallies: every part of a tally is a sum or a flag, and a staff
// member's entries are counted together, so the split changes nothing.
func countAll(in Input, patients map[string]*Patient, entries StaffEntries, workers int) (tallies, error) {
	if workers < 2 {
		c := newCounter(in, patients)
		err := entries(c.add)
		return c.t, err
	}
	ch := make(chan []Entry, 4*workers)
	counters := make([]*counter, workers)
	var wg sync.WaitGroup
	for i := range counters {
		c := newCounter(in, patients)
		counters[i] = c
		wg.Go(func() {
			for es := range ch {
				c.add(es)
			}
		})
	}
	err := entries(func(es []Entry) { ch <- es })
	close(ch)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	t := counters[0].t
	for _, c := range counters[1:] {
		t.merge(c.t)
	}
	return t, nil
}

// merge adds o's tallies to t's.
func (t tallies) merge(o tallies) {
	for id, programs := range o {
		for p, x := range programs {
			tl := t.get(id, p)
			tl.seconds += x.seconds
			tl.practitionerSeconds += x.practitionerSeconds
			tl.complexMDM = tl.complexMDM || x.complexMDM
			tl.interactive = tl.interactive || x.interactive
			tl.conflict = tl.conflict || x.conflict
		}
	}
}

// consentBound reports whether a program's time counts only inside a consent in force.
func consentBound(p care.Program) bool { return p == care.CCM || p == care.PCM || p == care.BHI }

// farFuture stands for "not revoked".
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// consentWindows returns the sorted, disjoint spans in which the patient's documented consent
// for the billing practitioner was in force.
func consentWindows(p *Patient) []interval {
	var ws []interval
	for _, c := range p.Consents {
		if !c.Documented || c.NPI != p.BillingNPI || p.BillingNPI == "" {
			continue
		}
		to := farFuture
		if !c.RevokedAt.IsZero() {
			to = c.RevokedAt
		}
		if c.GivenAt.Before(to) {
			ws = append(ws, interval{c.GivenAt, to})
		}
	}
	slices.SortFunc(ws, func(a, b interval) int { return a.from.Compare(b.from) })
	var merged []interval
	for _, w := range ws {
		if n := len(merged); n > 0 && !merged[n-1].to.Before(w.from) {
			merged[n-1].to = later(merged[n-1].to, w.to)
			continue
		}
		merged = append(merged, w)
	}
	return merged
}
