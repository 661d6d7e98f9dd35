package ident

import "testing"

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
		{"npi", NPI, "1111111111", true},
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.check(tt.in); got != tt.want {
				t.Errorf("check(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
