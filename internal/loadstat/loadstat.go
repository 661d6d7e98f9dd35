// Package loadstat measures load runs: latency percentiles, a progress bar for long phases, and
// the peak memory of a process.
package loadstat

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Latencies collects request latencies; it is safe for concurrent use.
type Latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

// Add records one latency.
func (l *Latencies) Add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

// Summary is a latency distribution.
type Summary struct {
	N                  int
	P50, P95, P99, Max time.Duration
}

// Summary returns the distribution of the latencies recorded so far.
func (l *Latencies) Summary() Summary {
	l.mu.Lock()
	d := slices.Clone(l.d)
	l.mu.Unlock()
	slices.Sort(d)
	if len(d) == 0 {
		return Summary{}
	}
	return Summary{N: len(d), P50: Percentile(d, 50), P95: Percentile(d, 95), P99: Percentile(d, 99), Max: d[len(d)-1]}
}

// String formats the distribution in milliseconds.
func (s Summary) String() string {
	return fmt.Sprintf("p50 %s  p95 %s  p99 %s  max %s", ms(s.P50), ms(s.P95), ms(s.P99), ms(s.Max))
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) + " ms" }

// Percentile returns the p-th percentile (nearest rank) of sorted, which must be sorted and not
// empty.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(p/100*float64(len(sorted)) + 0.999999)
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// Progress draws a progress bar for a phase of known size. On a terminal it redraws one line;
// elsewhere (a log file, CI) it prints a line at each quarter. It is safe for concurrent use.
type Progress struct {
	w        io.Writer
	label    string
	total    int
	start    time.Time
	terminal bool

	mu      sync.Mutex
	drawn   time.Time
	quarter int
}

// NewProgress starts a progress bar of total steps on w.
func NewProgress(w io.Writer, label string, total int) *Progress {
	p := &Progress{w: w, label: label, total: max(total, 1), start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	return p
}

// Set reports that done steps are complete.
func (p *Progress) Set(done int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	done = min(done, p.total)
	if p.terminal {
		if time.Since(p.drawn) < 100*time.Millisecond && done < p.total {
			return
		}
		p.drawn = time.Now()
		fmt.Fprintf(p.w, "\r%s", p.line(done))
		return
	}
	if q := done * 4 / p.total; q > p.quarter {
		p.quarter = q
		fmt.Fprintln(p.w, p.line(done))
	}
}

// Done ends the bar's line.
func (p *Progress) Done() {
	if p.terminal {
		fmt.Fprintln(p.w)
	}
}

func (p *Progress) line(done int) string {
	const width = 30
	filled := done * width / p.total
	return fmt.Sprintf("  %-10s [%s%s] %3d%% %d/%d %.1fs", p.label, strings.Repeat("#", filled),
		strings.Repeat(".", width-filled), done*100/p.total, done, p.total, time.Since(p.start).Seconds())
}

// PeakRSS returns the peak resident memory of a running process in bytes, from
// /proc/PID/status (Linux); pid 0 means this process.
func PeakRSS(pid int) (int64, error) {
	path := "/proc/self/status"
	if pid != 0 {
		path = "/proc/" + strconv.Itoa(pid) + "/status"
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("error reading peak memory: %w", err)
	}
	return parseHWM(string(data))
}

// parseHWM reads the VmHWM line of a /proc status file.
func parseHWM(status string) (int64, error) {
	for line := range strings.SplitSeq(status, "\n") {
		rest, ok := strings.CutPrefix(line, "VmHWM:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("error reading peak memory from %q: %w", line, err)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("error reading peak memory: no VmHWM line")
}

// MB formats bytes as mebibytes.
func MB(b int64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 0, 64) + " MB" }
