package ui_test

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/outreach-engine/outreach/escalation"
)

// TestBrowserQueueByKeyboard: a nurse who uses only the keyboard logs in, tabs to a patient and
// then to an item in the queue, keeps her place (focus, scroll, the filter she is choosing) when
// the table refreshes, and opens the item with Enter; every text she reads on the queue and the
// item has the contrast WCAG AA asks (4.5:1), the severity badges first.
func TestBrowserQueueByKeyboard(t *testing.T) {
	s := newSite(t)
	// Patient ids with the characters an id may hold that an element id or a selector handles
	// badly, and which a careless encoding of one would confuse with the other.
	high := s.patientWithItem("MRN:7.2", "+15551110007", escalation.High, "Blood pressure above 180")
	s.patientWithItem("MRN_7.2", "+15551110008", escalation.Routine, "Missed doses")
	s.mu.Lock()
	s.now = s.now.Add(20 * time.Minute) // the urgent item is overdue
	s.mu.Unlock()
	ctx := browser(t)
	b := tab{t, ctx}
	step := b.step
	// A tablet's width: the table scrolls sideways and the page down.
	step("log in with the keyboard", chromedp.EmulateViewport(480, 400), chromedp.Navigate(s.srv.URL+"/"),
		chromedp.WaitVisible(css("#staff")), chromedp.KeyEvent("RN1"+kb.Tab+password+kb.Enter),
		chromedp.WaitVisible(css("#queue table")))
	ids := run[[]string](b, `[...document.querySelectorAll('#queue a, #queue button, #queue input, #queue select')].map(e => e.id)`)
	seen := map[string]bool{}
	for _, id := range ids {
		if id == "" || seen[id] {
			t.Errorf("a control in the queue's table has the id %q (ids: %q): focus cannot follow it across a refresh", id, ids)
			break
		}
		seen[id] = true
	}

	patient := b.tabTo("/patients/MRN:7.2")
	refreshed := b.refreshQueue()
	if got := b.focused(); got != patient || !refreshed.Replaced {
		t.Errorf("after a refresh (table replaced: %v) focus is on %+v, want it kept on %+v", refreshed.Replaced, got, patient)
	}

	item := b.tabTo(fmt.Sprintf("/items/%d", high))
	step("choose a filter without applying it", chromedp.Evaluate[chromedp.Void](`document.getElementById('severity').value = 'high'`))
	step("scroll the page and the table", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 60); `+scroller+`.scrollLeft = 80`))
	before := run[position](b, positionJS)
	refreshed = b.refreshQueue()
	after := run[position](b, positionJS)
	focused := b.focused()
	if before.Y == 0 || before.X == 0 || after != before {
		t.Errorf("scroll (page Y, table X) before the refresh %+v, after %+v", before, after)
	}
	if after.Severity != "high" {
		t.Errorf("the severity chosen in the filter is %q after a refresh, want high", after.Severity)
	}
	for _, c := range b.lowContrast() {
		t.Errorf("queue: %s", c)
	}
	badges := run[int](b, `document.querySelectorAll('.sev-high').length`)
	if focused != item || !refreshed.Replaced {
		t.Fatalf("after a refresh (table replaced: %v) focus is on %+v, want it kept on %+v", refreshed.Replaced, focused, item)
	}
	step("open the item with Enter", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(css("#claim")))
	if got := run[string](b, `location.pathname`); got != item.Href {
		t.Errorf("Enter opened %s, want %s", got, item.Href)
	}
	for _, c := range b.lowContrast() {
		t.Errorf("item: %s", c)
	}
	if badges == 0 {
		t.Error("no high severity badge on the queue to measure")
	}
}

// patientWithItem adds a patient with one open item and returns the item's id.
func (s *site) patientWithItem(ext, phone string, sev escalation.Severity, reason string) int64 {
	s.t.Helper()
	var patient int64
	if err := s.db.Get(&patient, `INSERT INTO patients (practice_id, ext_id, first_name, last_name, phone, timezone, programs, created_at, updated_at)
		VALUES (1, $1, 'Bo', 'Ray', $2, 'America/New_York', '{ccm}', $3, $3) RETURNING id`, ext, phone, s.now); err != nil {
		s.t.Fatal(err)
	}
	ny, _ := time.LoadLocation("America/New_York")
	r, err := escalation.Raise(context.Background(), s.db, escalation.Item{PracticeID: 1, PatientID: patient, Severity: sev,
		Reason: reason, Source: escalation.SourceRule, Question: "symptoms", Answer: "dizzy"}, escalation.DefaultDueTimes, s.clock(), ny)
	if err != nil {
		s.t.Fatal(err)
	}
	return r.ID
}

// run evaluates a script in the page (outside its content security policy, as DevTools does).
func run[T any](b tab, script string, opts ...chromedp.EvaluateOption) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](script, opts...))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", script, err)
	}
	return v
}

// focus is the focused element as a test compares it.
type focus struct{ ID, Href string }

func (b tab) focused() focus {
	b.t.Helper()
	return run[focus](b, `({ID: document.activeElement.id, Href: document.activeElement.getAttribute('href') || ''})`)
}

// tabTo presses Tab until the link to href has the focus.
func (b tab) tabTo(href string) focus {
	b.t.Helper()
	for range 40 {
		if f := b.focused(); f.Href == href {
			return f
		}
		b.step("press Tab", chromedp.KeyEvent(kb.Tab))
	}
	b.t.Fatalf("Tab never reached the link to %s", href)
	return focus{}
}

// refreshed tells whether a refresh replaced the queue's table.
type refreshed struct{ Replaced bool }

// refreshQueue makes the request the queue's every-10-seconds trigger makes, with the queue's
// own attributes (URL, target, swap), and returns once htmx has swapped the answer in.
func (b tab) refreshQueue() refreshed {
	b.t.Helper()
	return run[refreshed](b, `(() => {
		const q = document.getElementById('queue');
		q.querySelector('table').dataset.stale = 'yes';
		return htmx.ajax('GET', q.getAttribute('hx-get'), {source: q})
			.then(() => ({Replaced: !q.querySelector('table[data-stale]')}));
	})()`, chromedp.EvalAwaitPromise)
}

// scroller is the element that scrolls the queue's table sideways on a narrow screen.
const scroller = `[document.getElementById('queue'), document.querySelector('#queue table')].find(e => e.scrollWidth > e.clientWidth)`

// position is where the nurse is on the queue page: how far she scrolled and what she is
// choosing in the filter.
type position struct {
	X, Y     float64
	Severity string
}

const positionJS = `({X: (` + scroller + `)?.scrollLeft ?? 0, Y: window.scrollY, Severity: document.getElementById('severity').value})`

// lowContrast lists the visible texts of the page whose colour has a contrast below 4.5:1 with
// the background they are drawn on.
func (b tab) lowContrast() []string {
	b.t.Helper()
	texts := run[[]struct{ Text, Color, Background string }](b, `(() => {
		const out = [];
		const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
		for (let n = walk.nextNode(); n; n = walk.nextNode()) {
			const e = n.parentElement;
			if (!n.textContent.trim() || !e.getClientRects().length || e.closest('.visually-hidden')) continue;
			let bg = e;
			while (bg && getComputedStyle(bg).backgroundColor === 'rgba(0, 0, 0, 0)') bg = bg.parentElement;
			out.push({Text: n.textContent.trim(), Color: getComputedStyle(e).color,
				Background: bg ? getComputedStyle(bg).backgroundColor : 'rgb(255, 255, 255)'});
		}
		return out;
	})()`)
	if len(texts) == 0 {
		b.t.Fatal("no text on the page to measure")
	}
	var low []string
	for _, x := range texts {
		r, err := contrast(x.Color, x.Background)
		if err != nil {
			b.t.Fatalf("%q: %v", x.Text, err)
		}
		if r < 4.5 {
			low = append(low, fmt.Sprintf("%q: %s on %s has a contrast of %.2f:1, below 4.5:1", x.Text, x.Color, x.Background, r))
		}
	}
	return low
}

// contrast is the WCAG 2 contrast ratio of two opaque CSS colours as browsers compute them,
// rgb(r, g, b) or rgba(r, g, b, 1).
func contrast(a, b string) (float64, error) {
	la, err := luminance(a)
	if err != nil {
		return 0, err
	}
	lb, err := luminance(b)
	if err != nil {
		return 0, err
	}
	return (max(la, lb) + 0.05) / (min(la, lb) + 0.05), nil
}

// luminance is the WCAG 2 relative luminance of an opaque CSS colour.
func luminance(color string) (float64, error) {
	var c [3]float64
	alpha := 1.0
	if _, err := fmt.Sscanf(color, "rgb(%g, %g, %g)", &c[0], &c[1], &c[2]); err != nil {
		if _, err := fmt.Sscanf(color, "rgba(%g, %g, %g, %g)", &c[0], &c[1], &c[2], &alpha); err != nil {
			return 0, fmt.Errorf("error reading the colour %q: %w", color, err)
		}
	}
	if alpha != 1 {
		return 0, fmt.Errorf("the colour %q is not opaque: its contrast depends on what is behind it", color)
	}
	for i, v := range c {
		if v /= 255; v <= 0.04045 {
			c[i] = v / 12.92
		} else {
			c[i] = math.Pow((v+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*c[0] + 0.7152*c[1] + 0.0722*c[2], nil
}

func TestContrast(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want string // to two decimals
	}{
		{"rgb(0, 0, 0)", "rgb(255, 255, 255)", "21.00"},
		{"rgb(255, 255, 255)", "rgb(255, 255, 255)", "1.00"},
		{"rgb(255, 255, 255)", "rgb(231, 111, 0)", "3.15"},    // #e76f00
		{"rgb(176, 0, 32)", "rgba(255, 255, 255, 1)", "7.33"}, // #b00020
		{"rgb(118, 118, 118)", "rgb(255, 255, 255)", "4.54"},  // #767676, the lightest grey that passes on white
	} {
		got, err := contrast(tt.a, tt.b)
		if err != nil || strconv.FormatFloat(got, 'f', 2, 64) != tt.want {
			t.Errorf("contrast(%s, %s) = %.4f, %v; want %s", tt.a, tt.b, got, err, tt.want)
		}
	}
	for _, c := range []string{"rgba(0, 0, 0, 0)", "rgba(255, 255, 255, 0.5)", "#fff", "red"} {
		if _, err := contrast(c, "rgb(255, 255, 255)"); err == nil {
			t.Errorf("contrast(%s, white) measured", c)
		}
	}
}
