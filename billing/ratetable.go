package billing

import (
	"bytes"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/outreach-engine/outreach/internal/csvfile"
	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/internal/ident"
)

//go:embed rates/*.csv
var bundledRates embed.FS

// FeeSchedule selects the conversion factor the amounts come from: qualifying APM participants
// (QP) have their own since 2026.
type FeeSchedule string

// Fee schedules.
const (
	NonQP FeeSchedule = "non_qp"
	QP    FeeSchedule = "qp"
)

// Rate is what one code pays in one year.
type Rate struct {
	NonQPCents int64
	QPCents    int64
	Note       string
}

// Rates is a rate table keyed by year and code.
type Rates map[int]map[Code]Rate

// Amount returns what a code pays in a year under a fee schedule. A code the table lacks for
// the year is an error of kind errkind.ErrInvalid: the month asked for cannot be priced.
func (r Rates) Amount(year int, code Code, fs FeeSchedule) (int64, error) {
	rate, ok := r[year][code]
	if !ok {
		return 0, errkind.Errorf(errkind.ErrInvalid, "no %d rate for code %s in the rate table", year, code)
	}
	if fs == QP {
		return rate.QPCents, nil
	}
	return rate.NonQPCents, nil
}

var rateSchema = csvfile.Schema{
	Columns:  []string{"year", "code", "non_qp_cents", "qp_cents", "note"},
	Required: []string{"year", "code", "non_qp_cents", "qp_cents"},
}

// Covers returns an error of kind errkind.ErrInvalid, saying which years the table has, when it
// has no rates for the month's year.
func (r Rates) Covers(m Month) error {
	if len(r[m.Year]) > 0 {
		return nil
	}
	years := make([]string, 0, len(r))
	for y, codes := range r {
		if len(codes) > 0 {
			years = append(years, strconv.Itoa(y))
		}
	}
	slices.Sort(years)
	have := "no year"
	if len(years) > 0 {
		have = strings.Join(years, ", ")
	}
	return errkind.Errorf(errkind.ErrInvalid, "month %s is outside the rate table, which has rates for %s (a practice adds a year with OUTREACH_RATES_FILE)", m, have)
}

// LoadRates reads a rate table from CSV (year, code, non_qp_cents, qp_cents[, note]), such as a
// practice's locality amounts. Every error names its line and column.
func LoadRates(name string, r io.Reader) (Rates, error) {
	f, err := csvfile.Read(name, r, rateSchema)
	if err != nil {
		return nil, err
	}
	rates := Rates{}
	var errs csvfile.Collector
	for _, row := range f.Rows() {
		var rowErrs []*csvfile.Error
		year, _, e := row.Int("year", 2000, 2100)
		if e != nil || row.Get("year") == "" {
			rowErrs = append(rowErrs, row.Errorf("year", "year %q is not a year", row.Get("year")))
		}
		code := Code(row.Get("code"))
		if !ident.ServiceCode(string(code)) {
			rowErrs = append(rowErrs, row.Errorf("code", "code %q is not a CPT or HCPCS code", row.Get("code")))
		}
		var cents [2]int64
		for i, col := range []string{"non_qp_cents", "qp_cents"} {
			n, err := strconv.ParseInt(row.Get(col), 10, 64)
			if err != nil || n < 0 {
				rowErrs = append(rowErrs, row.Errorf(col, "%s %q is not a whole number of cents", col, row.Get(col)))
			}
			cents[i] = n
		}
		if len(rowErrs) == 0 {
			if rates[year] == nil {
				rates[year] = map[Code]Rate{}
			}
			if _, dup := rates[year][code]; dup {
				rowErrs = append(rowErrs, row.Errorf("code", "code %s appears twice for %d", code, year))
			}
			rates[year][code] = Rate{NonQPCents: cents[0], QPCents: cents[1], Note: row.Get("note")}
		}
		errs.AddAll(rowErrs)
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return rates, nil
}

// BundledRates returns the national amounts shipped with the engine.
func BundledRates() (Rates, error) {
	all := Rates{}
	files, err := fs.Glob(bundledRates, "rates/*.csv")
	if err != nil {
		return nil, fmt.Errorf("error reading bundled rates: %w", err)
	}
	for _, name := range files {
		b, err := bundledRates.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("error reading bundled rates: %w", err)
		}
		r, err := LoadRates(name, bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		all.merge(r)
	}
	return all, nil
}

// Overlay returns r with the codes of over replacing or adding to its own.
func (r Rates) Overlay(over Rates) Rates {
	out := Rates{}
	out.merge(r)
	out.merge(over)
	return out
}

func (r Rates) merge(other Rates) {
	for year, codes := range other {
		if r[year] == nil {
			r[year] = map[Code]Rate{}
		}
		for c, rate := range codes {
			r[year][c] = rate
		}
	}
}
