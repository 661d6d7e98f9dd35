package ui

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"

	"github.com/outreach-engine/outreach/monitoring"
)

// The chart's size and margins, in SVG user units.
const (
	chartW, chartH            = 560, 160
	chartLeft, chartRight     = 44, 8
	chartTop, chartBottom     = 8, 22
	chartPlotW, chartPlotH    = chartW - chartLeft - chartRight, chartH - chartTop - chartBottom
	urgentColour, highColour  = "#b00020", "#c77700"
	lineColour, secondColour  = "#1f4e8c", "#4a8c1f"
	gridColour, manualOutline = "#ccc", "#fff"
)

// chartSeries is one measure's values over time.
type chartSeries struct {
	measure monitoring.Measure
	colour  string
	points  []chartPoint
}

type chartPoint struct {
	at     time.Time
	v      float64
	manual bool
}

// readingChart draws one type of reading from from to to as a small SVG: a line per measure
// (two for blood pressure), a dot per reading (hollow for one typed in by the patient), and
// the limits in force as dashed lines (red urgent, amber high). It is drawn on the server from
// numbers only: no script, no request elsewhere.
func readingChart(t monitoring.Type, points []monitoring.Point, limits monitoring.Limits, from, to time.Time, loc *time.Location) template.HTML {
	var series []chartSeries
	for _, p := range points {
		for i, mv := range p.Values() {
			if i >= len(series) {
				colour := lineColour
				if i > 0 {
					colour = secondColour
				}
				series = append(series, chartSeries{measure: mv.Measure, colour: colour})
			}
			series[i].points = append(series[i].points, chartPoint{at: p.TakenAt, v: mv.Value, manual: p.Manual})
		}
	}
	type limitLine struct {
		v      float64
		colour string
		label  string
	}
	var lines []limitLine
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for _, p := range s.points {
			lo, hi = math.Min(lo, p.v), math.Max(hi, p.v)
		}
		l := limits[s.measure]
		for _, b := range []struct {
			v      *float64
			colour string
			name   string
		}{{l.UrgentAbove, urgentColour, "urgent ≥"}, {l.HighAbove, highColour, "high ≥"}, {l.HighBelow, highColour, "high <"},
			{l.UrgentBelow, urgentColour, "urgent <"}} {
			if b.v != nil {
				lines = append(lines, limitLine{*b.v, b.colour, fmt.Sprintf("%s %s %s", s.measure, b.name, trim(*b.v))})
				lo, hi = math.Min(lo, *b.v), math.Max(hi, *b.v)
			}
		}
	}
	if math.IsInf(lo, 0) {
		return ""
	}
	pad := math.Max((hi-lo)*0.1, 1)
	lo, hi = lo-pad, hi+pad
	x := func(at time.Time) float64 {
		span := to.Sub(from).Seconds()
		return chartLeft + chartPlotW*math.Max(0, math.Min(1, at.Sub(from).Seconds()/span))
	}
	y := func(v float64) float64 { return chartTop + chartPlotH*(1-(v-lo)/(hi-lo)) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" data-type="%s" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`,
		t, chartW, chartH, chartW, chartH, template.HTMLEscapeString(t.Label()+" readings"))
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="%s"/>`, chartLeft, chartTop, chartPlotW, chartPlotH, gridColour)
	// The value axis: the bottom and top values.
	fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="10" text-anchor="end">%s</text>`, chartLeft-4, y(lo)+3, trim(lo))
	fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="10" text-anchor="end">%s</text>`, chartLeft-4, y(hi)+3, trim(hi))
	// The time axis: the first and last day.
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10">%s</text>`, chartLeft, chartH-6, from.In(loc).Format("Jan 2"))
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10" text-anchor="end">%s</text>`, chartW-chartRight, chartH-6, to.In(loc).Format("Jan 2"))
	for _, l := range lines {
		fmt.Fprintf(&b, `<line class="limit" x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="%s" stroke-dasharray="4 3"><title>%s</title></line>`,
			chartLeft, chartLeft+chartPlotW, y(l.v), y(l.v), l.colour, template.HTMLEscapeString(l.label))
	}
	for _, s := range series {
		var pts []string
		for _, p := range s.points {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(p.at), y(p.v)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`, s.colour, strings.Join(pts, " "))
		for _, p := range s.points {
			fill := s.colour
			if p.manual {
				fill = manualOutline
			}
			fmt.Fprintf(&b, `<circle class="reading" cx="%.1f" cy="%.1f" r="2.5" fill="%s" stroke="%s"><title>%s %s %s</title></circle>`,
				x(p.at), y(p.v), fill, s.colour, template.HTMLEscapeString(string(s.measure)), trim(p.v),
				template.HTMLEscapeString(p.at.In(loc).Format("Jan 2 15:04")))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // numbers, fixed words and escaped labels only
}

// trim formats a value without trailing zeros.
func trim(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.1f", v), "0"), ".")
}
