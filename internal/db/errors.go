package db

import (
	"database/sql"
	"errors"

	"github.com/lib/pq"
)

// IsNoRows reports whether err says a query returned no rows.
func IsNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// IsUniqueViolation reports whether err is a unique-key violation (SQLSTATE 23505).
func IsUniqueViolation(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code == "23505"
}

// IsUnstorableText reports whether err is the server refusing text it cannot store: a NUL
// character, or bytes that are not valid UTF-8 (SQLSTATE 22021 or 22P05). Such text comes from
// outside; it is the input's fault, not the engine's.
func IsUnstorableText(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && (pqErr.Code == "22021" || pqErr.Code == "22P05")
}
