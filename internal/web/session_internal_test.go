package web

import (
	"fmt"
	"testing"
	"time"
)

// TestLoginLimiterForgetsStaleAddresses: failures from ever new addresses do not grow the
// limiter without bound, and a key still within its window is kept.
func TestLoginLimiterForgetsStaleAddresses(t *testing.T) {
	a := &Accounts{}
	start := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	a.locked(nil, start)
	for i := range maxFailureKeys {
		a.fail([]string{fmt.Sprintf("ip:192.0.2.%d", i)}, start)
	}
	later := start.Add(loginWindow)
	a.fail([]string{"staff:rn1"}, later)
	if n := len(a.failures); n != 1 {
		t.Errorf("the limiter tracks %d keys after the window; want only the fresh one", n)
	}
	for range loginFailures - 1 {
		a.fail([]string{"staff:rn1"}, later)
	}
	if !a.locked([]string{"staff:rn1"}, later) {
		t.Error("a staff id with 5 fresh failures is not locked")
	}
}
