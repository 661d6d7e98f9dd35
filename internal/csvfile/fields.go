package csvfile

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/outreach-engine/outreach/internal/ident"
	"github.com/outreach-engine/outreach/internal/tz"
)

// Date parses a YYYY-MM-DD column; ok is false when the cell is empty or wrong (then err says why).
func (r Row) Date(col string) (d time.Time, ok bool, err *Error) {
	return r.timeCell(col, time.DateOnly, "a date (YYYY-MM-DD)")
}

// Instant parses an RFC 3339 timestamp with an offset; ok is false when the cell is empty.
func (r Row) Instant(col string) (t time.Time, ok bool, err *Error) {
	return r.timeCell(col, time.RFC3339, "an RFC 3339 time with offset (2026-03-01T09:30:00-05:00)")
}

// timeCell parses a column in layout; what names the layout in an error.
func (r Row) timeCell(col, layout, what string) (time.Time, bool, *Error) {
	v := r.Get(col)
	if v == "" {
		return time.Time{}, false, nil
	}
	t, err := time.Parse(layout, v)
	if err != nil {
		return time.Time{}, false, r.Errorf(col, "%s %q is not %s", col, v, what)
	}
	return t, true, nil
}

// InstantOrDate parses an RFC 3339 timestamp with an offset, or a YYYY-MM-DD date whose
// instant the caller resolves in the right zone. At most one result is set.
func (r Row) InstantOrDate(col string) (instant, date *time.Time, err *Error) {
	v := r.Get(col)
	if v == "" {
		return nil, nil, nil
	}
	if t, perr := time.Parse(time.RFC3339, v); perr == nil {
		return &t, nil, nil
	}
	if d, perr := time.Parse(time.DateOnly, v); perr == nil {
		return nil, &d, nil
	}
	return nil, nil, r.Errorf(col, "%s %q is neither an RFC 3339 time with offset (2026-03-01T09:30:00-05:00) nor a date (YYYY-MM-DD)", col, v)
}

// Bool parses true/false (also yes/no, 1/0, any case); empty gives def.
func (r Row) Bool(col string, def bool) (bool, *Error) {
	switch v := strings.ToLower(r.Get(col)); v {
	case "":
		return def, nil
	case "true", "yes", "y", "1":
		return true, nil
	case "false", "no", "n", "0":
		return false, nil
	default:
		return def, r.Errorf(col, "%s %q is not true or false", col, r.Get(col))
	}
}

// OneOf returns the lower-cased value when it is one of allowed; empty gives def.
func (r Row) OneOf(col, def string, allowed ...string) (string, *Error) {
	v := strings.ToLower(r.Get(col))
	if v == "" {
		return def, nil
	}
	if !slices.Contains(allowed, v) {
		return def, r.Errorf(col, "%s %q is not one of %s", col, r.Get(col), strings.Join(allowed, ", "))
	}
	return v, nil
}

// List splits a ';'-separated column into trimmed, non-empty items.
func (r Row) List(col string) []string {
	var items []string
	for item := range strings.SplitSeq(r.Get(col), ";") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

// Int parses a whole number within [lo, hi]; ok is false when the cell is empty.
func (r Row) Int(col string, lo, hi int) (n int, ok bool, err *Error) {
	v := r.Get(col)
	if v == "" {
		return 0, false, nil
	}
	n, perr := strconv.Atoi(v)
	if perr != nil || n < lo || n > hi {
		return 0, false, r.Errorf(col, "%s %q is not a whole number from %d to %d", col, v, lo, hi)
	}
	return n, true, nil
}

// Required returns the value or an error when the cell is empty.
func (r Row) Required(col string) (string, *Error) {
	v := r.Get(col)
	if v == "" {
		return "", r.Errorf(col, "%s is empty", col)
	}
	return v, nil
}

// Location loads an IANA time zone column; empty gives def. A name a person should not give
// for a zone (EST, a fixed offset) is refused with the zone to write instead (see tz.Check).
func (r Row) Location(col string, def *time.Location) (*time.Location, *Error) {
	v := r.Get(col)
	if v == "" {
		return def, nil
	}
	if err := tz.Check(v); err != nil {
		return def, r.Errorf(col, "%s %v", col, err)
	}
	loc, err := r.zones.Load(v)
	if err != nil {
		return def, r.Errorf(col, "%s %v", col, err)
	}
	return loc, nil
}

// Phone reads a phone number as people write it, (555) 123-4567 or +44 20 7946 0958, and
// returns its E.164 form; country is the ISO 3166 code whose national numbers are read (see
// ident.Phone). ok is false when the cell is empty.
func (r Row) Phone(col, country string) (e164 string, ok bool, err *Error) {
	v := r.Get(col)
	if v == "" {
		return "", false, nil
	}
	e164, perr := ident.Phone(v, country)
	if perr != nil {
		return "", false, r.Errorf(col, "%s %q is not a phone number: %v", col, v, perr)
	}
	return e164, true, nil
}

// NPI reads a National Provider Identifier, check digit included; ok is false when the cell is
// empty.
func (r Row) NPI(col string) (npi string, ok bool, err *Error) {
	v := r.Get(col)
	if v == "" {
		return "", false, nil
	}
	if perr := ident.CheckNPI(v); perr != nil {
		return "", false, r.Errorf(col, "%s %q is not a valid NPI: %v", col, v, perr)
	}
	return v, true, nil
}
