package loadstat

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ticksPerSecond is Linux's USER_HZ, the unit of /proc's CPU times: 100 on every architecture
// Go supports.
const ticksPerSecond = 100

// CPUSample is what the machine and each of its processes had used of the CPU at one moment,
// read from /proc (Linux).
type CPUSample struct {
	busy, total int64 // the machine's ticks, all CPUs
	CPUs        int
	procs       map[int]procCPU
}

type procCPU struct {
	comm   string
	ppid   int
	own    int64 // user and system ticks
	reaped int64 // user and system ticks of its children that ended and were waited for
}

// SampleCPU reads the machine's and every process's CPU time so far.
func SampleCPU() (CPUSample, error) {
	s := CPUSample{procs: map[int]procCPU{}}
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s, fmt.Errorf("error reading CPU times: %w", err)
	}
	if s.busy, s.total, s.CPUs, err = parseProcStat(string(stat)); err != nil {
		return s, err
	}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range dirs {
		pid, err := strconv.Atoi(filepath.Base(dir))
		if err != nil {
			continue
		}
		b, err := os.ReadFile(dir + "/stat")
		if err != nil {
			continue // ended meanwhile
		}
		if p, ok := parsePidStat(string(b)); ok {
			s.procs[pid] = p
		}
	}
	return s, nil
}

// parseProcStat reads the machine's busy and total ticks from the "cpu" line of /proc/stat,
// and counts the CPUs.
func parseProcStat(stat string) (busy, total int64, cpus int, err error) {
	found := false
	for line := range strings.SplitSeq(stat, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) > 0 && f[0] == "cpu":
			found = true
			for i, v := range f[1:] {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return 0, 0, 0, fmt.Errorf("error reading /proc/stat: %q", line)
				}
				if i >= 8 { // guest times are already counted in user time
					break
				}
				total += n
				if i != 3 && i != 4 { // idle and iowait
					busy += n
				}
			}
		case len(f) > 0 && strings.HasPrefix(f[0], "cpu"):
			cpus++
		}
	}
	if !found {
		return 0, 0, 0, fmt.Errorf("error reading /proc/stat: no cpu line")
	}
	return busy, total, max(cpus, 1), nil
}

// parsePidStat reads a process's command name, parent, and user and system ticks (its own and
// its waited-for children's) from /proc/PID/stat. The name is in parentheses and may hold
// spaces and parentheses itself.
func parsePidStat(stat string) (procCPU, bool) {
	open, shut := strings.IndexByte(stat, '('), strings.LastIndexByte(stat, ')')
	if open < 0 || shut < open {
		return procCPU{}, false
	}
	f := strings.Fields(stat[shut+1:]) // from field 3, state
	if len(f) < 15 {
		return procCPU{}, false
	}
	var n [4]int64
	for i := range n {
		v, err := strconv.ParseInt(f[11+i], 10, 64) // fields 14 to 17: utime stime cutime cstime
		if err != nil {
			return procCPU{}, false
		}
		n[i] = v
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return procCPU{}, false
	}
	return procCPU{comm: stat[open+1 : shut], ppid: ppid, own: n[0] + n[1], reaped: n[2] + n[3]}, true
}

func ticks(n int64) time.Duration { return time.Duration(n) * time.Second / ticksPerSecond }

// Busy is the CPU time the whole machine had used, all CPUs together.
func (s CPUSample) Busy() time.Duration { return ticks(s.busy) }

// Capacity is the CPU time the machine had, used or not, all CPUs together.
func (s CPUSample) Capacity() time.Duration { return ticks(s.total) }

// Process is the CPU time a running process had used itself; 0 when it is not running.
func (s CPUSample) Process(pid int) time.Duration { return ticks(s.procs[pid].own) }

// Server is the CPU time of a server made of processes named comm, such as PostgreSQL's
// postmaster and backends: those running, and those that ended, which their parent reaped.
// Backends come and go; the difference of two samples counts each one's time once.
func (s CPUSample) Server(comm string) time.Duration {
	var n int64
	for _, p := range s.procs {
		if p.comm != comm {
			continue
		}
		n += p.own
		if s.procs[p.ppid].comm != comm { // the server's first process: it reaps the others
			n += p.reaped
		}
	}
	return ticks(n)
}
