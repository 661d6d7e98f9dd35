package ui_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/monitoring"
)

// TestBrowserReadings: a practitioner opens an RPM patient's page, sees a chart per type of
// reading with the limits drawn and the days with device data this month, and sets a tighter
// systolic limit for the patient, in a real browser.
func TestBrowserReadings(t *testing.T) {
	s := newSite(t)
	if _, err := s.db.Exec(`INSERT INTO staff (practice_id, ext_id, role, access, password_hash, created_at, updated_at)
		SELECT 1, 'MD1', 'practitioner', 'practitioner', password_hash, $1, $1 FROM staff WHERE ext_id = 'RN1'`, s.now); err != nil {
		t.Fatal(err)
	}
	ny, _ := time.LoadLocation("America/New_York")
	svc := &monitoring.Service{DB: s.db, Practice: 1, Location: ny, Clock: s.clock, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	now := s.clock().In(ny)
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, ny)
	var rs []monitoring.Reading
	days := 0
	for d := month; d.Before(now) && days < 5; d = d.AddDate(0, 0, 1) {
		at := d.Add(time.Hour)
		if at.After(now) {
			break
		}
		for _, in := range []monitoring.Input{
			{Patient: "P1", Device: "BP-1", Type: "blood_pressure", TakenAt: at.Format(time.RFC3339), Systolic: num(130 + float64(days)), Diastolic: num(85)},
			{Patient: "P1", Type: "weight", TakenAt: at.Format(time.RFC3339), Value: num(180), Unit: "lb", Manual: true},
		} {
			r, errs := monitoring.Check(in, s.clock())
			if errs != nil {
				t.Fatal(errs)
			}
			rs = append(rs, r)
		}
		days++
	}
	if _, unknown, err := svc.Receive(context.Background(), rs, audit.ActorSystem); err != nil || unknown != nil {
		t.Fatal(err, unknown)
	}
	ctx := browser(t)
	b := tab{t, ctx}
	step, text := b.step, b.text
	step("log in", chromedp.Navigate(s.srv.URL+"/login?next=/patients/P1"), chromedp.WaitVisible(css("#staff")),
		chromedp.SendKeys(css("#staff"), "MD1"), chromedp.SendKeys(css("#password"), password),
		chromedp.Submit(css("#password")), chromedp.WaitVisible(css("#readings")))
	if got := text("#data-days"); !strings.HasPrefix(got, fmt.Sprintf("%d of", days)) {
		t.Errorf("data days: %q, want %d (the manual weights do not count)", got, days)
	}
	if n := run[int](b, `document.querySelectorAll("#readings svg.chart").length`); n != 2 {
		t.Fatalf("%d charts; want blood pressure and weight", n)
	}
	if n := run[int](b, `document.querySelectorAll('svg[data-type="blood_pressure"] line.limit').length`); n != 4 {
		t.Fatalf("%d limit lines on the blood pressure chart; want 4", n)
	}
	if n := run[int](b, `document.querySelectorAll('svg[data-type="blood_pressure"] circle.reading').length`); n != 2*days {
		t.Fatalf("%d dots; want %d", n, 2*days)
	}
	step("set a tighter systolic limit", chromedp.SetValue(css(`input[name="systolic.high_above"]`), "140"),
		chromedp.Click(css("#set-limits")), chromedp.WaitVisible(css("p.notice")))
	if got := text("p.notice"); !strings.Contains(got, "limits are set") {
		t.Errorf("notice %q", got)
	}
	if got := text(`tr[data-measure="systolic"] th`); !strings.Contains(got, "*") {
		t.Errorf("systolic row %q is not marked the patient's own", got)
	}
	var stored string
	if err := s.db.Get(&stored, `SELECT limits::text FROM reading_limits`); err != nil || stored != `{"systolic": {"high_above": 140, "urgent_above": 180}}` {
		t.Errorf("stored limits %q, %v", stored, err)
	}
}

func num(v float64) *float64 { return &v }
