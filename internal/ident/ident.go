// Package ident checks the formats of the identifiers the engine exchanges with the outside:
// phone numbers, NPIs, diagnosis and procedure codes, country codes and the practice's own
// record ids.
package ident

import (
	"fmt"
	"regexp"
	"strings"
)

var (
	e164     = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	icd10    = regexp.MustCompile(`^[A-TV-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$`)
	code     = regexp.MustCompile(`^([0-9]{4}[0-9A-Z]|[A-Z][0-9]{4})$`)
	external = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`)
)

// E164 reports whether s is a phone number in E.164 form (+ and up to 15 digits).
func E164(s string) bool { return e164.MatchString(s) }

// NPI reports whether s is a National Provider Identifier: 10 digits whose last is the check
// digit (see CheckNPI).
func NPI(s string) bool { return CheckNPI(s) == nil }

// CheckNPI says why s is not a National Provider Identifier, or returns nil when it is one:
// 10 digits, the last a Luhn check digit computed over the first nine prefixed with 80840, as
// CMS specifies. The error reads after "is not a valid NPI: " ("its check digit should be 3").
func CheckNPI(s string) error {
	if len(s) != 10 || strings.Trim(s, "0123456789") != "" {
		return fmt.Errorf("an NPI is 10 digits")
	}
	if want := npiCheckDigit(s[:9]); s[9] != want {
		return fmt.Errorf("its check digit should be %c", want)
	}
	return nil
}

// npiCheckDigit returns the Luhn check digit of the nine digits of an NPI preceded by 80840.
func npiCheckDigit(nine string) byte {
	full := "80840" + nine
	sum := 0
	// From the right, every other digit is doubled, starting with the last: the check digit
	// that follows it would be the undoubled one.
	for i := len(full) - 1; i >= 0; i-- {
		d := int(full[i] - '0')
		if (len(full)-1-i)%2 == 0 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10)
}

// ICD10 reports whether s has the form of an ICD-10-CM code (with or without its dot).
func ICD10(s string) bool { return icd10.MatchString(s) }

// ServiceCode reports whether s has the form of a CPT (five digits, or four and a letter) or
// HCPCS Level II (a letter and four digits) code.
func ServiceCode(s string) bool { return code.MatchString(s) }

// External reports whether s is acceptable as a practice's own record id: 1 to 64 letters,
// digits, '.', '_', ':' or '-', starting with a letter or digit.
func External(s string) bool { return external.MatchString(s) }
