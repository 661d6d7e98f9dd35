package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// testMachinery names the packages the release binary must not link: test doubles, test
// support and the load tool's pieces.
func testMachinery(pkg string) bool {
	return pkg == "testing" || strings.HasPrefix(pkg, "testing/") || pkg == "net/http/httptest" ||
		strings.Contains(pkg, "/internal/testsupport/") || strings.HasSuffix(pkg, "/internal/loadstat")
}

// The outreach binary is only the product: no fake Twilio, no httptest server, no load tool.
// It asks the go command which packages the binary links, as its build does.
func TestReleaseBinaryLinksNoTestMachinery(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 || !slices.Contains(deps, "github.com/outreach-engine/outreach/outreach") {
		t.Fatalf("go list -deps listed %d packages, not the engine's: %q", len(deps), out)
	}
	for _, pkg := range deps {
		if testMachinery(pkg) {
			t.Errorf("the outreach binary links %s", pkg)
		}
	}
}

func TestTestMachinery(t *testing.T) {
	for pkg, want := range map[string]bool{
		"net/http/httptest": true,
		"testing":           true,
		"testing/synctest":  true,
		"github.com/outreach-engine/outreach/internal/testsupport/twiliofake": true,
		"github.com/outreach-engine/outreach/internal/loadstat":               true,
		"net/http": false,
		"github.com/outreach-engine/outreach/internal/web": false,
	} {
		if got := testMachinery(pkg); got != want {
			t.Errorf("testMachinery(%q) = %v, want %v", pkg, got, want)
		}
	}
}
