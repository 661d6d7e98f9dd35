package ui

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/internal/patients"
	"github.com/outreach-engine/outreach/monitoring"
	"github.com/outreach-engine/outreach/staff"
)

// chartDays is how far back the patient page's charts go.
const chartDays = 30

// readingsData is the patient page's remote monitoring: a chart per type of reading, the days
// with device data this month, and the limits in force.
type readingsData struct {
	Charts       []readingChartData
	DataDays     int // days this month with a reading that is not manual
	MonthDays    int
	Month        string
	Limits       []limitRow
	CanSetLimits bool // practitioners set a patient's limits
}

type readingChartData struct {
	Type   monitoring.Type
	Label  string
	Count  int
	Latest string // the newest reading in words
	SVG    template.HTML
}

// limitRow is one measure's limits as the form shows them: empty where none applies.
type limitRow struct {
	Measure                                        monitoring.Measure
	Unit                                           string
	Own                                            bool // the patient's own, not the practice's default
	UrgentAbove, HighAbove, HighBelow, UrgentBelow string
}

// bounds are the names of a limit's bounds, as the form names its fields.
var bounds = []string{"urgent_above", "high_above", "high_below", "urgent_below"}

// readings builds the patient's remote monitoring section; nil when the pages have no readings.
func (p *Pages) readings(ctx context.Context, who staff.Identity, patient int64, now time.Time) (*readingsData, error) {
	if p.Readings == nil {
		return nil, nil
	}
	own, eff, err := p.Readings.PatientLimits(ctx, p.DB, patient)
	if err != nil {
		return nil, err
	}
	local := now.In(p.Location)
	month := monitoring.CalendarMonth(local.Year(), local.Month(), p.Location)
	d := &readingsData{MonthDays: month.Days(p.Location), Month: local.Format("January"), CanSetLimits: monitoring.CanSetLimits(who)}
	from, to := now.AddDate(0, 0, -chartDays), now
	var stamps []monitoring.Stamp
	for _, t := range monitoring.Types {
		pts, err := p.Readings.Points(ctx, patient, t, earlier(from, month.From), to)
		if err != nil {
			return nil, err
		}
		var shown []monitoring.Point
		for _, pt := range pts {
			stamps = append(stamps, monitoring.Stamp{At: pt.TakenAt, Manual: pt.Manual})
			if !pt.TakenAt.Before(from) {
				shown = append(shown, pt)
			}
		}
		if len(shown) == 0 {
			continue
		}
		last := shown[len(shown)-1]
		latest := monitoring.Reading{Type: last.Type, Systolic: last.Systolic, Diastolic: last.Diastolic, Value: last.Value, Unit: last.Unit}.Text()
		d.Charts = append(d.Charts, readingChartData{Type: t, Label: t.Label(), Count: len(shown),
			Latest: latest + ", " + localTime(last.TakenAt, p.Location), SVG: readingChart(t, shown, eff, from, to, p.Location)})
	}
	d.DataDays = monitoring.DataDays(stamps, p.Location, month)
	for _, m := range monitoring.Measures {
		l := eff[m]
		_, mine := own[m]
		d.Limits = append(d.Limits, limitRow{Measure: m, Unit: monitoring.MeasureUnit(m), Own: mine,
			UrgentAbove: boundText(l.UrgentAbove), HighAbove: boundText(l.HighAbove), HighBelow: boundText(l.HighBelow),
			UrgentBelow: boundText(l.UrgentBelow)})
	}
	return d, nil
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func boundText(v *float64) string {
	if v == nil {
		return ""
	}
	return trim(*v)
}

// patientLimits sets the patient's own limits from the page's form: practitioners only. A
// measure whose fields are all empty keeps the practice's default.
func (p *Pages) patientLimits(w http.ResponseWriter, r *http.Request) {
	who, ext := patientForm(w, r)
	err := func() error {
		if p.Readings == nil {
			return errkind.Errorf(errkind.ErrNotFound, "remote monitoring is not set up")
		}
		if !monitoring.CanSetLimits(who) {
			return errkind.Errorf(errkind.ErrForbidden, "only a practitioner may set a patient's limits")
		}
		ids, err := patients.IDs(r.Context(), p.DB, int64(p.Practice), []string{ext})
		if err != nil {
			return err
		}
		id, ok := ids[ext]
		if !ok {
			return errkind.Errorf(errkind.ErrNotFound, "no patient %q", ext)
		}
		own := monitoring.Limits{}
		defaults := monitoring.DefaultLimits()
		for _, m := range monitoring.Measures {
			var l monitoring.Limit
			to := []**float64{&l.UrgentAbove, &l.HighAbove, &l.HighBelow, &l.UrgentBelow}
			for i, name := range bounds {
				v := strings.TrimSpace(r.PostFormValue(string(m) + "." + name))
				if v == "" {
					continue
				}
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					return errkind.Errorf(errkind.ErrInvalid, "%s %s: %q is not a number", m, strings.ReplaceAll(name, "_", " "), v)
				}
				*to[i] = &f
			}
			if l != (monitoring.Limit{}) && !sameLimit(l, defaults[m]) {
				own[m] = l
			}
		}
		return p.Readings.SetLimits(r.Context(), who, id, own)
	}()
	if err == nil {
		http.Redirect(w, r, "/patients/"+url.PathEscape(ext)+"?limits=1#readings", http.StatusSeeOther)
		return
	}
	p.patientFailed(w, r, err)
}

// sameLimit reports whether two limits have the same bounds.
func sameLimit(a, b monitoring.Limit) bool {
	eq := func(x, y *float64) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return eq(a.UrgentAbove, b.UrgentAbove) && eq(a.HighAbove, b.HighAbove) && eq(a.HighBelow, b.HighBelow) && eq(a.UrgentBelow, b.UrgentBelow)
}
