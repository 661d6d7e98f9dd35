package ui_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestBrowserRepliesFromAnItem: a nurse using only the keyboard opens an item with the patient's
// question, writes back in the reply box and sends it: the thread shows her text without the
// page reloading, and the focus stays on the Send button.
func TestBrowserRepliesFromAnItem(t *testing.T) {
	s := newSite(t)
	item := s.patientText("Is it fine to skip a dose today?")
	b := tab{t, browser(t)}
	b.step("log in with the keyboard", chromedp.Navigate(s.srv.URL+fmt.Sprintf("/login?next=/items/%d", item)),
		chromedp.WaitVisible(css("#staff")), chromedp.KeyEvent("RN1"+kb.Tab+password+kb.Enter),
		chromedp.WaitVisible(css("#reply-body")))
	if got := b.text("#thread ol"); !strings.Contains(got, "Is it fine to skip a dose today?") {
		t.Fatalf("the thread shows %q", got)
	}
	b.step("mark the page, to tell a reload", chromedp.Evaluate[chromedp.Void](`window.sameLoad = true`))
	for range 60 {
		if run[string](b, `document.activeElement.id`) == "reply-body" {
			break
		}
		b.step("press Tab", chromedp.KeyEvent(kb.Tab))
	}
	b.step("write and send", chromedp.KeyEvent("Please do not skip it; call us if it upsets your stomach."),
		chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(css(`#thread p.notice`)))
	thread := b.text("#thread ol")
	if !strings.Contains(thread, "Please do not skip it") || !strings.Contains(thread, "written by RN1") {
		t.Errorf("after sending, the thread shows %q", thread)
	}
	if !run[bool](b, `window.sameLoad === true`) {
		t.Error("sending reloaded the page")
	}
	if got := run[string](b, `document.activeElement.id`); got != "reply-send" {
		t.Errorf("after sending, the focus is on %q, want the Send button", got)
	}
	if low := b.lowContrast(); len(low) > 0 {
		t.Errorf("text under 4.5:1 on the item page: %v", low)
	}
}
