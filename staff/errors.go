package staff

import "errors"

// ErrNotFound is returned when no staff member has the id.
var ErrNotFound = errors.New("not found")
