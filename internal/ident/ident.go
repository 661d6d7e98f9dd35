// Package ident checks the formats of the identifiers the engine exchanges with the outside:
// phone numbers, NPIs, diagnosis and procedure codes, and the practice's own record ids.
package ident

import "regexp"

var (
	e164     = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	npi      = regexp.MustCompile(`^[0-9]{10}$`)
	icd10    = regexp.MustCompile(`^[A-TV-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$`)
	code     = regexp.MustCompile(`^([0-9]{4}[0-9A-Z]|[A-Z][0-9]{4})$`)
	external = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`)
)

// E164 reports whether s is a phone number in E.164 form (+ and up to 15 digits).
func E164(s string) bool { return e164.MatchString(s) }

// NPI reports whether s has the form of a National Provider Identifier (10 digits).
func NPI(s string) bool { return npi.MatchString(s) }

// ICD10 reports whether s has the form of an ICD-10-CM code (with or without its dot).
func ICD10(s string) bool { return icd10.MatchString(s) }

// ServiceCode reports whether s has the form of a CPT (five digits, or four and a letter) or
// HCPCS Level II (a letter and four digits) code.
func ServiceCode(s string) bool { return code.MatchString(s) }

// External reports whether s is acceptable as a practice's own record id: 1 to 64 letters,
// digits, '.', '_', ':' or '-', starting with a letter or digit.
func External(s string) bool { return external.MatchString(s) }
