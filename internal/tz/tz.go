// Package tz loads IANA time zones by name, each once per cache: loading one reads and parses
// the zone's file, which is too slow for every patient of a large batch.
package tz

import (
	"fmt"
	"sync"
	"time"
)

// Load loads an IANA zone by name, refusing "Local" and the empty name that time.LoadLocation
// would silently accept.
func Load(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("%q is not an IANA time zone", name)
	}
	return time.LoadLocation(name)
}

// Zones is a cache of zones by name; the zero value is ready and safe for concurrent use.
type Zones struct {
	m sync.Map // name → *time.Location
}

// Load returns the zone named name, loading it on first use; a name that is not a zone is
// an error each time.
func (z *Zones) Load(name string) (*time.Location, error) {
	if loc, ok := z.m.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := Load(name)
	if err != nil {
		return nil, err
	}
	z.m.Store(name, loc)
	return loc, nil
}
