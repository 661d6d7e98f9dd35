// Package tz loads IANA time zones by name, each once per cache: loading one reads and parses
// the zone's file, which is too slow for every patient of a large batch. It also decides which
// names a person may give for a zone: the zone of a place, never an offset or abbreviation.
package tz

import (
	"fmt"
	"sync"
	"time"
)

// Load loads the IANA zone a person named (in a file, in the configuration). It refuses the
// empty name and "Local", which time.LoadLocation would silently accept, names that are not
// zones, and the names Check refuses, each with what to write instead.
func Load(name string) (*time.Location, error) {
	if err := Check(name); err != nil {
		return nil, err
	}
	return load(name)
}

func load(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("%q is not an IANA time zone (like America/Chicago)", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%q is not an IANA time zone (like America/Chicago)", name)
	}
	return loc, nil
}

// Zones is a cache of zones by name; the zero value is ready and safe for concurrent use.
type Zones struct {
	m sync.Map // name → *time.Location
}

// Load returns the zone named name, loading it on first use; a name that is not a zone is
// an error each time. It does not apply Check: it loads the zones already stored (a patient
// stored with EST before Check existed is still reached); names a person gives go through
// Check first.
func (z *Zones) Load(name string) (*time.Location, error) {
	if loc, ok := z.m.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := load(name)
	if err != nil {
		return nil, err
	}
	z.m.Store(name, loc)
	return loc, nil
}
