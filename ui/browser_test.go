package ui_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var screenshot = flag.Bool("screenshot", false, "save the queue's screenshot as testdata/queue.png (shown in the README)")

// browser returns a headless Chromium context, or skips the test when Chromium is missing
// (fails instead when OUTREACH_BROWSER_TESTS=required, as the project's test command sets).
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("OUTREACH_BROWSER_TESTS") == "required" {
			t.Fatal("Chromium is not installed (Debian package chromium)")
		}
		t.Skip("Chromium is not installed (Debian package chromium)")
	}
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1200, 800)}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	return ctx
}

// tab is a browser tab a test drives: each step fails the test with its name.
type tab struct {
	t   *testing.T
	ctx context.Context
}

// step runs actions, failing the test with the step's name.
func (b tab) step(name string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", name, err)
	}
}

// text returns the text of the element sel finds.
func (b tab) text(sel string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Text(css(sel)))
	if err != nil {
		b.t.Fatalf("reading %s: %v", sel, err)
	}
	return v
}

func css(sel string) chromedp.CSS { return chromedp.CSS(sel) }

// TestBrowserWorksAnUrgentItem logs in, finds the urgent item at the top of the queue, claims
// it, resolves it, records the proposed time and finds it on the patient's page, in a real
// browser; with -screenshot it saves the queue's picture for the README.
func TestBrowserWorksAnUrgentItem(t *testing.T) {
	s := newSite(t)
	ctx := browser(t)
	b := tab{t, ctx}
	step, text := b.step, b.text
	step("log in", chromedp.Navigate(s.srv.URL+"/"), chromedp.WaitVisible(css("#staff")),
		chromedp.SendKeys(css("#staff"), "RN1"), chromedp.SendKeys(css("#password"), password),
		chromedp.Submit(css("#password")), chromedp.WaitVisible(css("#queue table")))
	first, err := chromedp.Run(ctx, chromedp.AttributeValue(css("#queue tbody tr:first-child"), "data-item"))
	if err != nil {
		t.Fatal(err)
	}
	firstRow := first.Value
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	step("open and claim the first item", chromedp.Click(css("#queue tbody tr:first-child td a")),
		chromedp.WaitVisible(css("#claim")), chromedp.Click(css("#claim")), chromedp.WaitVisible(css("#outcome")))
	status := text("#status")
	s.mu.Lock()
	s.now = s.now.Add(12 * time.Minute) // the call with the patient
	s.mu.Unlock()
	step("resolve", chromedp.SetValue(css("#outcome"), "advised_ed_911"),
		chromedp.SendKeys(css("#note"), "Told to call 911; EMS on the way."), chromedp.Submit(css("#note")),
		chromedp.WaitVisible(css("#record")))
	step("record the time", chromedp.Click(css("#record")), chromedp.WaitNotPresent(css("#record")),
		chromedp.WaitVisible(css("p.notice")))
	notice := text("p.notice")
	step("see the time on the patient's page", chromedp.Click(css(`a[href="/patients/P1"]`)),
		chromedp.WaitVisible(css("tr[data-entry]")))
	entry := text("tr[data-entry]")
	if firstRow != fmt.Sprint(s.urgent) {
		t.Errorf("the first row is item %s, want the urgent item %d", firstRow, s.urgent)
	}
	if status != "claimed" {
		t.Errorf("status after claiming = %q", status)
	}
	if !strings.Contains(entry, "patient call") || !strings.Contains(entry, "12.0") {
		t.Errorf("the patient's page shows the entry as %q", entry)
	}
	if !strings.Contains(notice, "recorded") {
		t.Errorf("notice after recording = %q", notice)
	}
	var n int
	if err := s.db.Get(&n, `SELECT count(*) FROM time_entries WHERE program = 'ccm' AND activity = 'patient_call'`); err != nil || n != 1 {
		t.Errorf("time entries = %d, %v", n, err)
	}
	if len(shot) == 0 {
		t.Error("no screenshot of the queue")
	}
	if *screenshot {
		if err := os.WriteFile(filepath.Join("testdata", "queue.png"), shot, 0o644); err != nil {
			t.Errorf("saving the screenshot: %v", err)
		}
	}
}
