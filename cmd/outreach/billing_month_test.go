package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A month outside the rate table is the caller's mistake, said plainly: 400 from the API, one
// line and a non-zero exit from the command line; never a 500.
func TestBillingMonthOutsideRateTable(t *testing.T) {
	c := apiServer(t, time.Date(2026, 3, 25, 16, 0, 0, 0, time.UTC))
	for _, m := range []string{"0001-01", "2019-01", "9999-12"} {
		for _, path := range []string{"/api/v1/billing/report?month=" + m, "/api/v1/billing/report?format=csv&month=" + m, "/api/v1/billing/worklist?month=" + m} {
			code, body := c.do("GET", path, "")
			if code != 400 || !strings.Contains(body, "month "+m+" is outside the rate table, which has rates for 2026") {
				t.Errorf("GET %s: %d %s", path, code, body)
			}
		}
	}
	if code, _ := c.do("GET", "/api/v1/billing/report?month=2026-03", ""); code != 200 {
		t.Errorf("a month of the table: %d", code)
	}
	env := map[string]string{"DATABASE_URL": c.conn}
	for _, args := range [][]string{{"billing", "report", "--month", "0001-01"}, {"billing", "close", "--month", "2019-01"}, {"billing", "worklist", "--month", "0001-01"}} {
		out, _, err := runCmd(t, context.Background(), env, args...)
		if err == nil || strings.Contains(errorText(err), "\n") || !strings.Contains(errorText(err), "outside the rate table") || out != "" {
			t.Errorf("%v: %q, %v", args, out, err)
		}
	}
}
