package ident

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// Phone returns the E.164 form (+15551234567) of a phone number as people write it, or says
// why s cannot be a phone number; the error reads after "is not a phone number: ".
//
// A number in international form, + or 00 and then the country code and number, is read for
// any country; in the North American Numbering Plan 011 may stand for the +. A number without
// its country code is read as a national number of country (ISO 3166 alpha-2, like US), which
// must be a country of the North American Numbering Plan (US, CA and the Caribbean and
// Pacific countries and territories of +1): 10 digits, or 11 starting with 1, the area code
// starting with 2 to 9. Spaces, dots, dashes and parentheses may separate the digits; nothing
// else may appear (no extension, no letters).
func Phone(s, country string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("it is empty")
	}
	// "+44 (0)20 7946 0958": the trunk prefix in parentheses is not dialled from abroad.
	abroad := strings.Replace(s, "(0)", "", 1)
	if rest, ok := strings.CutPrefix(abroad, "+"); ok {
		d, err := digitsOf(rest)
		if err != nil {
			return "", err
		}
		return international(d)
	}
	d, err := digitsOf(s)
	if err != nil {
		return "", err
	}
	country = strings.ToUpper(country)
	prefixes := []string{"00"}
	if nanp[country] {
		prefixes = append(prefixes, "011")
	}
	for _, p := range prefixes {
		if strings.HasPrefix(d, p) {
			d, _ := digitsOf(abroad) // the same characters as s, less "(0)"
			return international(strings.TrimPrefix(d, p))
		}
	}
	return national(d, country)
}

// digitsOf returns the digits of s, refusing anything but digits and separators.
func digitsOf(s string) (string, error) {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			b.WriteRune(c)
		case c == '.' || c == '-' || c == '(' || c == ')' || unicode.IsSpace(c):
		default:
			return "", fmt.Errorf("it holds %q: only digits, spaces, dots, dashes, parentheses and a leading + may be written", c)
		}
	}
	return b.String(), nil
}

// international checks the digits that follow + (the country code, then the number).
func international(d string) (string, error) {
	switch {
	case d == "":
		return "", errors.New("no digits follow the international prefix")
	case d[0] == '0':
		return "", errors.New("a country code cannot start with 0")
	case d[0] == '1' && len(d) != 11:
		return "", fmt.Errorf("a +1 (North American) number has 10 digits after the 1, area code included, not %d", len(d)-1)
	case d[0] == '1' && (d[1] == '0' || d[1] == '1'):
		return "", fmt.Errorf("the area code %s cannot start with %c", d[1:4], d[1])
	case len(d) < 7 || len(d) > 15:
		return "", fmt.Errorf("an international number has 7 to 15 digits, country code included, not %d", len(d))
	}
	return "+" + d, nil
}

// national reads a number written without its country code.
func national(d, country string) (string, error) {
	abroad := "a number abroad is written + and its country code, like +44 20 7946 0958"
	switch {
	case country == "":
		return "", errors.New("write + and the country code, like +15551234567")
	case !nanp[country]:
		return "", fmt.Errorf("numbers without their country code are read for the countries of +1 only, not %s: write + and the country code, like +44 20 7946 0958", country)
	}
	if len(d) == 11 && d[0] == '1' {
		d = d[1:]
	}
	switch {
	case len(d) != 10:
		return "", fmt.Errorf("it has %d digits: a %s number has 10 with its area code, like (555) 123-4567, or 11 starting with 1; %s", len(d), country, abroad)
	case d[0] == '1':
		return "", fmt.Errorf("it has 10 digits starting with 1: after a 1, a %s number has 10 digits with its area code, like 1 (555) 123-4567; an area code cannot start with 1", country)
	case d[0] == '0':
		return "", fmt.Errorf("the area code %s cannot start with 0; %s", d[:3], abroad)
	}
	return "+1" + d, nil
}
