package loadstat

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var sorted []time.Duration
	for i := 1; i <= 200; i++ {
		sorted = append(sorted, time.Duration(i)*time.Millisecond)
	}
	for _, tt := range []struct {
		p    float64
		want time.Duration
	}{
		{50, 100 * time.Millisecond},
		{99, 198 * time.Millisecond},
		{100, 200 * time.Millisecond},
		{0, time.Millisecond},
	} {
		if got := Percentile(sorted, tt.p); got != tt.want {
			t.Errorf("Percentile(1..200 ms, %v) = %v, want %v", tt.p, got, tt.want)
		}
	}
	if got := Percentile([]time.Duration{7}, 99); got != 7 {
		t.Errorf("Percentile of one = %v, want 7", got)
	}
}

func TestSummary(t *testing.T) {
	var l Latencies
	if s := l.Summary(); s.N != 0 {
		t.Fatalf("empty summary = %+v", s)
	}
	for _, ms := range []int{30, 10, 20, 40} {
		l.Add(time.Duration(ms) * time.Millisecond)
	}
	s := l.Summary()
	if s.N != 4 || s.P50 != 20*time.Millisecond || s.Max != 40*time.Millisecond {
		t.Fatalf("summary = %+v", s)
	}
	if got := s.String(); !strings.Contains(got, "p50 20.0 ms") || !strings.Contains(got, "max 40.0 ms") {
		t.Fatalf("String() = %q", got)
	}
}

func TestProgressPrintsQuartersOffTerminal(t *testing.T) {
	var b strings.Builder
	p := NewProgress(&b, "send", 100)
	for i := 1; i <= 100; i++ {
		p.Set(i)
	}
	p.Done()
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("got %d lines, want one per quarter:\n%s", len(lines), b.String())
	}
	if !strings.Contains(lines[3], "100% 100/100") || !strings.Contains(lines[0], "25% 25/100") {
		t.Fatalf("lines = %q", lines)
	}
}

func TestParseHWM(t *testing.T) {
	got, err := parseHWM("Name:\toutreach\nVmPeak:\t  900 kB\nVmHWM:\t   12345 kB\nVmRSS:\t 100 kB\n")
	if err != nil || got != 12345*1024 {
		t.Fatalf("parseHWM = %d, %v", got, err)
	}
	if _, err := parseHWM("Name: x\n"); err == nil {
		t.Fatal("no VmHWM line: want an error")
	}
	if rss, err := PeakRSS(0); err != nil || rss <= 0 {
		t.Fatalf("PeakRSS(self) = %d, %v", rss, err)
	}
}

func TestParsePidStat(t *testing.T) {
	// A name with spaces and parentheses; utime 120, stime 30, cutime 7, cstime 3.
	stat := "4242 (postgres: a (b) c) S 17 4242 4242 0 -1 4194560 100 0 0 0 120 30 7 3 20 0 1 0 300 1000 10 18446744073709551615"
	p, ok := parsePidStat(stat)
	if !ok || p.comm != "postgres: a (b) c" || p.ppid != 17 || p.own != 150 || p.reaped != 10 {
		t.Fatalf("parsePidStat = %+v, %v", p, ok)
	}
	if _, ok := parsePidStat("17 (short) S 1"); ok {
		t.Error("a truncated line was read")
	}
}

func TestParseProcStat(t *testing.T) {
	stat := "cpu  100 5 50 800 40 0 5 0 9 9\ncpu0 50 2 25 400 20 0 3 0 0 0\ncpu1 50 3 25 400 20 0 2 0 0 0\nintr 1\n"
	busy, total, cpus, err := parseProcStat(stat)
	if err != nil || busy != 160 || total != 1000 || cpus != 2 {
		t.Fatalf("parseProcStat = %d, %d, %d, %v; want 160 busy of 1000, 2 CPUs", busy, total, cpus, err)
	}
	if _, _, _, err := parseProcStat("intr 1\n"); err == nil {
		t.Error("no cpu line: no error")
	}
}

func TestServerCountsReapedWorkers(t *testing.T) {
	s := CPUSample{procs: map[int]procCPU{
		1:  {comm: "init", own: 5, reaped: 1000},
		10: {comm: "postgres", ppid: 1, own: 20, reaped: 300}, // the postmaster, with ended backends
		11: {comm: "postgres", ppid: 10, own: 40, reaped: 9},  // a backend's own children are its own business
		12: {comm: "postgres", ppid: 10, own: 60},
		20: {comm: "outreach", ppid: 1, own: 70},
	}}
	if got, want := s.Server("postgres"), ticks(20+300+40+60); got != want {
		t.Errorf("Server = %v, want %v", got, want)
	}
	if got := s.Process(20); got != ticks(70) {
		t.Errorf("Process = %v", got)
	}
	if got := s.Process(99); got != 0 {
		t.Errorf("Process of a missing pid = %v", got)
	}
}

func TestSampleCPUSeesThisProcess(t *testing.T) {
	before, err := SampleCPU()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(300 * time.Millisecond)
	for x := 0; time.Now().Before(deadline); x++ {
		_ = strings.Repeat("x", x%100)
	}
	after, err := SampleCPU()
	if err != nil {
		t.Fatal(err)
	}
	pid := os.Getpid()
	if after.Process(pid) <= before.Process(pid) || after.Busy() <= before.Busy() || after.Capacity() <= before.Capacity() || after.CPUs < 1 {
		t.Errorf("after 300 ms of work: this process %v → %v, machine %v → %v of %v → %v",
			before.Process(pid), after.Process(pid), before.Busy(), after.Busy(), before.Capacity(), after.Capacity())
	}
}
