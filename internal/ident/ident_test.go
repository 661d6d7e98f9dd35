package ident

import (
	"strings"
	"testing"
)

func TestFormats(t *testing.T) {
	tests := []struct {
		name  string
		check func(string) bool
		in    string
		want  bool
	}{
		{"e164 us", E164, "+15551234567", true},
		{"e164 uk", E164, "+447911123456", true},
		{"e164 no plus", E164, "15551234567", false},
		{"e164 dashes", E164, "+1-555-123-4567", false},
		{"e164 leading zero", E164, "+05551234567", false},
		{"e164 too long", E164, "+1234567890123456", false},
		{"npi", NPI, "1111111112", true},
		{"npi wrong check digit", NPI, "1111111111", false},
		{"npi short", NPI, "111111111", false},
		{"npi letters", NPI, "11111111a1", false},
		{"icd10 with dot", ICD10, "E11.9", true},
		{"icd10 without dot", ICD10, "E119", true},
		{"icd10 three chars", ICD10, "I10", true},
		{"icd10 long", ICD10, "S72.001A", true},
		{"icd10 U codes reserved", ICD10, "U07.1", false},
		{"icd10 word", ICD10, "DIABETES", false},
		{"cpt", ServiceCode, "99490", true},
		{"cpt category II", ServiceCode, "0001F", true},
		{"hcpcs", ServiceCode, "G0181", true},
		{"code too short", ServiceCode, "9949", false},
		{"external", External, "MRN-00042", true},
		{"external space", External, "P 1", false},
		{"external slash", External, "../x", false},
		{"country us", Country, "US", true},
		{"country puerto rico", Country, "PR", true},
		{"country lower case", Country, "us", false},
		{"country unassigned", Country, "XX", false},
		{"country user-assigned", Country, "ZZ", false},
		{"country three letters", Country, "USA", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.check(tt.in); got != tt.want {
				t.Errorf("check(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestCheckNPI(t *testing.T) {
	tests := []struct {
		in, err string // err "" for a valid NPI
	}{
		{"1234567893", ""}, // CMS's worked example
		{"1111111112", ""},
		{"2222222228", ""},
		{"1245319599", ""},
		{"1234567890", "its check digit should be 3"},
		{"1111111111", "its check digit should be 2"},
		{"2222222220", "its check digit should be 8"},
		{"123456789", "an NPI is 10 digits"},
		{"12345678931", "an NPI is 10 digits"},
		{"123456789O", "an NPI is 10 digits"},
		{"+234567893", "an NPI is 10 digits"},
		{"", "an NPI is 10 digits"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			err := CheckNPI(tt.in)
			switch {
			case tt.err == "" && err != nil:
				t.Errorf("CheckNPI(%q) = %v, want nil", tt.in, err)
			case tt.err != "" && (err == nil || err.Error() != tt.err):
				t.Errorf("CheckNPI(%q) = %v, want %q", tt.in, err, tt.err)
			}
		})
	}
	// Every last digit but one is wrong: the check digit is neither always accepted nor fixed.
	for _, nine := range []string{"123456789", "987654321", "100000000", "299999999"} {
		valid := 0
		for d := '0'; d <= '9'; d++ {
			if NPI(nine + string(d)) {
				valid++
			}
		}
		if valid != 1 {
			t.Errorf("%s: %d check digits accepted, want 1", nine, valid)
		}
	}
}

func TestPhone(t *testing.T) {
	tests := []struct {
		in, country string
		want        string // E.164, or "" when refused
		err         string // part of the refusal's text
	}{
		{"(555) 111-0006", "US", "+15551110006", ""},
		{"555-111-0006", "US", "+15551110006", ""},
		{"5551110006", "US", "+15551110006", ""},
		{"555.111.0006", "US", "+15551110006", ""},
		{"555 111 0006", "US", "+15551110006", ""},
		{" 555\t111 0006 ", "US", "+15551110006", ""},
		{"+1 555 111 0006", "US", "+15551110006", ""},
		{"+1 (555) 111-0006", "US", "+15551110006", ""},
		{"1-555-111-0006", "US", "+15551110006", ""},
		{"1 (555) 111-0006", "US", "+15551110006", ""},
		{"15551110006", "US", "+15551110006", ""},
		{"+15551110006", "US", "+15551110006", ""},
		{"(416) 555-0123", "CA", "+14165550123", ""},
		{"787-555-0123", "pr", "+17875550123", ""},
		{"876 555 0123", "JM", "+18765550123", ""},
		{"+44 20 7946 0958", "US", "+442079460958", ""},
		{"+44 (0)20 7946 0958", "US", "+442079460958", ""},
		{"0044 20 7946 0958", "US", "+442079460958", ""},
		{"00 44 (0) 20 7946 0958", "GB", "+442079460958", ""},
		{"011 44 20 7946 0958", "US", "+442079460958", ""},
		{"+52 55 1234 5678", "MX", "+525512345678", ""},
		{"+683 4002", "US", "+6834002", ""},
		{"+1 555 111 0006", "GB", "+15551110006", ""},
		{"+15551110006", "", "+15551110006", ""},

		{"555-1234", "US", "", "it has 7 digits: a US number has 10 with its area code, like (555) 123-4567"},
		{"555111000", "US", "", "it has 9 digits"},
		{"55511100067", "US", "", "it has 11 digits"},
		{"1-555-111-000", "US", "", "it has 10 digits starting with 1: after a 1, a US number has 10 digits"},
		{"(055) 111-0006", "US", "", "the area code 055 cannot start with 0"},
		{"(155) 111-0006", "US", "", "an area code cannot start with 1"},
		{"+1 155 111 0006", "US", "", "the area code 155 cannot start with 1"},
		{"+1 555 111 000", "US", "", "a +1 (North American) number has 10 digits after the 1, area code included, not 9"},
		{"555-111-0006 x12", "US", "", `it holds 'x'`},
		{"555-111-0006 ext. 12", "US", "", `it holds 'e'`},
		{"1-800-FLOWERS", "US", "", `it holds 'F'`},
		{"555/111-0006", "US", "", `it holds '/'`},
		{"555+111", "US", "", `it holds '+'`},
		{"++15551110006", "US", "", `it holds '+'`},
		{"+", "US", "", "no digits follow the international prefix"},
		{"+0 555 111 0006", "US", "", "a country code cannot start with 0"},
		{"+44 20", "US", "", "an international number has 7 to 15 digits, country code included, not 4"},
		{"+44 20 7946 0958 1234 56", "US", "", "not 18"},
		{"()", "US", "", "it has 0 digits"},
		{"", "US", "", "it is empty"},
		{"020 7946 0958", "GB", "", "numbers without their country code are read for the countries of +1 only, not GB: write + and the country code"},
		{"5551110006", "", "", "write + and the country code, like +15551234567"},
		{"011 44 20 7946 0958", "GB", "", "numbers without their country code are read for the countries of +1 only"},
	}
	for _, tt := range tests {
		t.Run(tt.country+" "+tt.in, func(t *testing.T) {
			got, err := Phone(tt.in, tt.country)
			if tt.want != "" {
				if err != nil || got != tt.want {
					t.Errorf("Phone(%q, %q) = %q, %v; want %q", tt.in, tt.country, got, err, tt.want)
				}
				if !E164(got) {
					t.Errorf("Phone(%q, %q) = %q is not E.164", tt.in, tt.country, got)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Phone(%q, %q) = %q, %v; want an error containing %q", tt.in, tt.country, got, err, tt.err)
			}
		})
	}
}

func TestNANPCountriesAreCountries(t *testing.T) {
	if len(nanp) != 25 {
		t.Errorf("%d countries in the North American Numbering Plan, want 25", len(nanp))
	}
	for c := range nanp {
		if !Country(c) {
			t.Errorf("%s is in the numbering plan but not a country code", c)
		}
	}
	if len(countries) != 249 {
		t.Errorf("%d country codes, want the 249 officially assigned", len(countries))
	}
}
