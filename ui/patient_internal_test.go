package ui

import (
	"testing"
	"time"

	"github.com/outreach-engine/outreach/outreach"
)

func TestPhoneText(t *testing.T) {
	tests := []struct {
		e164, text, href string
	}{
		{"+15551110006", "(555) 111-0006", "tel:+15551110006"},
		{"+442071838750", "+442071838750", "tel:+442071838750"},
		{"+1555111000", "+1555111000", "tel:+1555111000"}, // too short for a North American number
		{"555-111-0006", "555-111-0006", ""},
		{"+1555111000x", "+1555111000x", ""},
		{"javascript:alert(1)", "javascript:alert(1)", ""},
	}
	for _, tt := range tests {
		if got := phoneText(tt.e164); got != tt.text {
			t.Errorf("phoneText(%q) = %q, want %q", tt.e164, got, tt.text)
		}
		if got := string(telHref(tt.e164)); got != tt.href {
			t.Errorf("telHref(%q) = %q, want %q", tt.e164, got, tt.href)
		}
	}
}

func TestReasonText(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 7, 4, 16, 30, 0, 0, time.UTC)
	tests := []struct {
		r    outreach.Reason
		want string
	}{
		{outreach.Reason{Code: outreach.ReasonNoPhone}, "No phone number on file."},
		{outreach.Reason{Code: outreach.ReasonOptedOut, At: at, Source: "sms"}, "Opted out by text (STOP, or a request in their words) on Jul 4 12:30 EDT."},
		{outreach.Reason{Code: outreach.ReasonOptedOut, At: at, Source: "voice"}, "Opted out on a check-in call on Jul 4 12:30 EDT."},
		{outreach.Reason{Code: outreach.ReasonOptedOut, At: at, Source: "carrier"}, "Opted out (the carrier reported the number unsubscribed) on Jul 4 12:30 EDT."},
		{outreach.Reason{Code: outreach.ReasonOptedOut, At: at, Source: "staff"}, "Opted out (recorded by staff) on Jul 4 12:30 EDT."},
		{outreach.Reason{Code: outreach.ReasonOptedOut, At: at, Source: "fax"}, "Opted out (fax) on Jul 4 12:30 EDT."},
		{outreach.Reason{Code: outreach.ReasonInactive}, "Inactive: all outreach is stopped."},
		{outreach.Reason{Code: outreach.ReasonNoConsent}, "No consent on file, and the practice has no consent exemption."},
		{outreach.Reason{Code: outreach.ReasonConsentRevoked, At: at}, "Consent revoked on Jul 4 12:30 EDT."},
		{outreach.Reason{Code: outreach.ReasonConsentNotYet, At: at}, "Consent is not in force until Jul 4 12:30 EDT."},
		{outreach.Reason{Code: outreach.ReasonNoScript}, "Not in CCM and no check-in script of their own."},
		{outreach.Reason{Code: outreach.ReasonScriptNotLoaded, Script: "copd-weekly"}, `Their check-in script "copd-weekly" is not loaded.`},
	}
	for _, tt := range tests {
		if got := reasonText(tt.r, ny); got != tt.want {
			t.Errorf("reasonText(%+v) = %q, want %q", tt.r, got, tt.want)
		}
	}
}
