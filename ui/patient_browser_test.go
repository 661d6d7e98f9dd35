package ui_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserManagerStopsOutreach: a manager opens a patient's page, sees their phone as a link
// to call and why they are contacted, makes them inactive with a reason, and sees the page say
// so, in a real browser.
func TestBrowserManagerStopsOutreach(t *testing.T) {
	s := newSite(t)
	for _, q := range []string{
		`INSERT INTO staff (practice_id, ext_id, role, access, password_hash, created_at, updated_at)
			SELECT 1, 'MG1', 'non_clinical', 'manager', password_hash, $1, $1 FROM staff WHERE ext_id = 'RN1'`,
		`UPDATE patients SET first_name = 'Ada', last_name = 'Lovelace', phone = '+15551110006', updated_at = $1`,
		`INSERT INTO consents (practice_id, patient_id, given_at, npi, documented, created_at, updated_at)
			SELECT 1, id, $1::timestamptz - interval '30 days', '1111111112', true, $1, $1 FROM patients`,
	} {
		if _, err := s.db.Exec(q, s.now); err != nil {
			t.Fatal(err)
		}
	}
	ctx := browser(t)
	b := tab{t, ctx}
	step, text := b.step, b.text
	step("log in", chromedp.Navigate(s.srv.URL+"/login?next=/patients/P1"), chromedp.WaitVisible(css("#staff")),
		chromedp.SendKeys(css("#staff"), "MG1"), chromedp.SendKeys(css("#password"), password),
		chromedp.Submit(css("#password")), chromedp.WaitVisible(css("#outreach")))
	phone := text("#phone")
	href, err := chromedp.Run(ctx, chromedp.AttributeValue(css("#phone"), "href"))
	if err != nil {
		t.Fatal(err)
	}
	before := text("#outreach")
	step("make the patient inactive", chromedp.SendKeys(css("#active-reason"), "Discharged to another practice"),
		chromedp.Click(css("#set-active")), chromedp.WaitVisible(css("p.notice")))
	notice, after := text("p.notice"), text("#outreach")
	if phone != "(555) 111-0006" || href.Value != "tel:+15551110006" {
		t.Errorf("phone link = %q to %q", phone, href.Value)
	}
	if !strings.Contains(before, "Contacted by text") {
		t.Errorf("before: %q", before)
	}
	if !strings.Contains(notice, "inactive") || !strings.Contains(after, "Inactive: all outreach is stopped.") ||
		!strings.Contains(after, "by MG1: Discharged to another practice") {
		t.Errorf("after: notice %q, outreach %q", notice, after)
	}
	var active bool
	if err := s.db.Get(&active, `SELECT active FROM patients`); err != nil || active {
		t.Errorf("active = %v, %v", active, err)
	}
}
