// Package ha holds the reference high-availability deployment (Patroni, etcd, a multi-host
// DATABASE_URL) and its test: the engine under a failover and a switchover.
package ha

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/db"
)

// cluster is etcd and two Patroni nodes on local ports, in a directory of the test's own.
type cluster struct {
	dir    string
	asPG   []string // runuser -u postgres -- when the test runs as root
	uid    int      // the nodes' user (-1: this process's)
	gid    int
	etcd   string // client address
	nodes  []*node
	procs  []*exec.Cmd
	client *http.Client
}

// node is one PostgreSQL server and its Patroni.
type node struct {
	name   string
	pgPort int
	rest   string // Patroni's REST API, http://host:port
	data   string
	log    string
}

// tools finds the programs the cluster needs: etcd, patroni and PostgreSQL's server programs.
func tools() (pgBin string, missing []string) {
	for _, p := range []string{"etcd", "patroni"} {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	sort.Slice(found, func(i, j int) bool {
		v := func(p string) float64 {
			f, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(filepath.Dir(p))), 64)
			return f
		}
		return v(found[i]) > v(found[j])
	})
	if len(found) == 0 {
		missing = append(missing, "PostgreSQL's server programs (/usr/lib/postgresql/*/bin)")
		return "", missing
	}
	return filepath.Dir(found[0]), missing
}

// freePorts returns n ports nothing listens on now.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// startCluster starts etcd and two Patroni nodes from patroni.yml.in, and waits until the
// second is the first's synchronous standby. Everything is stopped when the test ends.
func startCluster(t *testing.T, pgBin string) *cluster {
	t.Helper()
	dir, err := os.MkdirTemp("", "outreach-ha-") // short: the servers' sockets go in it
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{dir: dir, uid: -1, gid: -1, client: &http.Client{Timeout: 5 * time.Second}}
	t.Cleanup(func() {
		if !t.Failed() {
			os.RemoveAll(dir)
		} else {
			t.Logf("the cluster's files are kept in %s", dir)
		}
	})
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, PostgreSQL needs a postgres user to run as: %v", err)
		}
		c.uid, _ = strconv.Atoi(u.Uid)
		c.gid, _ = strconv.Atoi(u.Gid)
		runuser, err := exec.LookPath("runuser")
		if err != nil {
			t.Fatalf("running as root: runuser is needed to run PostgreSQL as postgres: %v", err)
		}
		c.asPG = []string{runuser, "-u", "postgres", "--"}
		if err := os.Chown(dir, c.uid, c.gid); err != nil {
			t.Fatal(err)
		}
	}
	ports := freePorts(t, 6)
	c.etcd = fmt.Sprintf("127.0.0.1:%d", ports[0])
	c.start(t, "etcd", filepath.Join(dir, "etcd.log"), nil, "etcd", "--name", "etcd1", "--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", "http://"+c.etcd, "--advertise-client-urls", "http://"+c.etcd,
		"--listen-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", ports[1]),
		"--initial-advertise-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", ports[1]),
		"--initial-cluster", fmt.Sprintf("etcd1=http://127.0.0.1:%d", ports[1]))

	template, err := os.ReadFile("patroni.yml.in")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		n := &node{name: fmt.Sprintf("node%d", i+1), pgPort: ports[2+i], rest: fmt.Sprintf("http://127.0.0.1:%d", ports[4+i])}
		home := filepath.Join(dir, n.name)
		n.data, n.log = filepath.Join(home, "data"), filepath.Join(home, "patroni.log")
		if err := os.Mkdir(home, 0o700); err != nil {
			t.Fatal(err)
		}
		cfg := strings.NewReplacer("@NAME@", n.name, "@HOST@", "127.0.0.1", "@REST_PORT@", strconv.Itoa(ports[4+i]),
			"@PG_PORT@", strconv.Itoa(n.pgPort), "@ETCD@", c.etcd, "@DATA@", n.data, "@BIN_DIR@", pgBin,
			"@AUTH@", "trust", "@PASSWORD@", "failover-test", "@SOCKET_DIR@", home).Replace(string(template))
		file := filepath.Join(home, "patroni.yml")
		if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		if c.uid >= 0 {
			for _, p := range []string{home, file} {
				if err := os.Chown(p, c.uid, c.gid); err != nil {
					t.Fatal(err)
				}
			}
		}
		c.start(t, n.name, n.log, c.asPG, "patroni", file)
		c.nodes = append(c.nodes, n)
		// The first node makes the cluster; the second clones it once it runs.
		c.waitFor(t, 120*time.Second, n.name+" running", func() bool { return c.status(n.rest+"/health") == http.StatusOK })
	}
	c.waitHealthy(t, 120*time.Second)
	return c
}

// start runs a program of the cluster in its own process group until the test ends.
func (c *cluster) start(t *testing.T, what, logFile string, prefix []string, name string, args ...string) {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	argv := append(append(append([]string{}, prefix...), path), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = c.dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", what, err)
	}
	c.procs = append(c.procs, cmd)
	t.Cleanup(func() {
		// Patroni stops its PostgreSQL on SIGTERM; whatever is left then goes with SIGKILL.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		out.Close()
	})
}

// status returns the HTTP status of a GET, 0 when there is no answer.
func (c *cluster) status(url string) int {
	resp, err := c.client.Get(url)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// member is a node as Patroni's /cluster lists it.
type member struct {
	Name  string `json:"name"`
	Role  string `json:"role"`
	State string `json:"state"`
}

// members returns the cluster's members as a node sees them.
func (c *cluster) members() ([]member, error) {
	var last error
	for _, n := range c.nodes {
		resp, err := c.client.Get(n.rest + "/cluster")
		if err != nil {
			last = err
			continue
		}
		var body struct {
			Members []member `json:"members"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err == nil {
			return body.Members, nil
		}
		last = err
	}
	return nil, fmt.Errorf("no node answered /cluster: %w", last)
}

// healthy reports the leader when one node leads and the other is its running synchronous
// standby.
func (c *cluster) healthy() (leader string, ok bool) {
	ms, err := c.members()
	if err != nil || len(ms) != len(c.nodes) {
		return "", false
	}
	sync := false
	for _, m := range ms {
		switch {
		case m.Role == "leader" && m.State == "running":
			leader = m.Name
		case m.Role == "sync_standby" && m.State == "running":
			sync = true
		}
	}
	return leader, leader != "" && sync
}

// waitHealthy waits until the cluster is healthy and returns its leader.
func (c *cluster) waitHealthy(t *testing.T, limit time.Duration) string {
	t.Helper()
	var leader string
	c.waitFor(t, limit, "a leader and its synchronous standby", func() bool {
		l, ok := c.healthy()
		leader = l
		return ok
	})
	return leader
}

func (c *cluster) waitFor(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !ok(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v\n%s", what, limit, c.logs())
		}
	}
}

func (c *cluster) node(name string) *node {
	for _, n := range c.nodes {
		if n.name == name {
			return n
		}
	}
	return nil
}

// killPostmaster kills the node's postmaster with SIGKILL, as a crash would.
func (c *cluster) killPostmaster(t *testing.T, n *node) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(n.data, "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		t.Fatalf("postmaster.pid of %s: %v", n.name, err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %d (%s's postmaster): %v", pid, n.name, err)
	}
}

// switchover asks Patroni to hand the primary from leader to candidate, and waits for its
// answer (it answers once the candidate is promoted).
func (c *cluster) switchover(t *testing.T, leader, candidate string) {
	t.Helper()
	body := fmt.Sprintf(`{"leader": %q, "candidate": %q}`, leader, candidate)
	client := &http.Client{Timeout: 60 * time.Second}
	resp, err := client.Post(c.node(candidate).rest+"/switchover", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("switchover: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("switchover: %d %s", resp.StatusCode, b)
	}
}

// logs returns the end of each node's Patroni log, for a failure's message.
func (c *cluster) logs() string {
	var b strings.Builder
	for _, n := range c.nodes {
		data, _ := os.ReadFile(n.log)
		fmt.Fprintf(&b, "== %s (last lines)\n%s\n", n.name, lastLines(string(data), 25))
	}
	return b.String()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// probeWrites runs a write on a new connection to the read-write host every interval until ctx
// ends, and returns when each write that succeeded started: the gaps are how long there was no
// primary.
func probeWrites(ctx context.Context, conn string, interval time.Duration) []time.Time {
	var ok []time.Time
	for ctx.Err() == nil {
		start := time.Now()
		func() {
			pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			d, err := db.Open(pctx, conn)
			if err != nil {
				return
			}
			defer d.Close()
			if _, err := d.ExecContext(pctx, `SELECT txid_current()`); err == nil { // fails on a standby
				ok = append(ok, start)
			}
		}()
		select {
		case <-ctx.Done():
		case <-time.After(time.Until(start.Add(interval))):
		}
	}
	return ok
}

// longestGap returns the longest time between consecutive instants within [from, to], counting
// from and to as the ends.
func longestGap(at []time.Time, from, to time.Time) time.Duration {
	var gap time.Duration
	prev := from
	for _, t := range at {
		if t.Before(from) || t.After(to) {
			continue
		}
		gap = max(gap, t.Sub(prev))
		prev = t
	}
	return max(gap, to.Sub(prev))
}
