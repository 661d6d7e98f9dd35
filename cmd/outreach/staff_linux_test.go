package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/crypto/bcrypt"
)

// At a terminal, staff password asks twice on standard error without echoing what is typed,
// and changes nothing when the two differ.
func TestStaffPasswordAtTerminal(t *testing.T) {
	env, hash := staffWithPassword(t)
	for _, tt := range []struct {
		name          string
		first, second string
		wantErr       string
	}{
		{"same twice", "correct horse battery", "correct horse battery", ""},
		{"differ", "first long password", "second long password", "the two passwords differ; nothing was changed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := hash()
			master, tty := openPTY(t)
			stderr := newWatched()
			var stdout bytes.Buffer
			done := make(chan error, 1)
			go func() {
				done <- run(context.Background(), []string{"staff", "password", "RN1"}, tty, &stdout, stderr, envFrom(env))
			}()
			stderr.waitFor(t, "New password for RN1 (12 to 72 characters, not shown): ")
			fmt.Fprintf(master, "%s\n", tt.first)
			stderr.waitFor(t, "The same password again: ")
			fmt.Fprintf(master, "%s\n", tt.second)
			err := <-done
			// Echo is back on once the command ended: what the terminal shows up to this mark
			// is everything it echoed.
			fmt.Fprint(master, "#")
			var shown []byte
			buf := make([]byte, 256)
			for !bytes.Contains(shown, []byte("#")) {
				n, err := master.Read(buf)
				if err != nil {
					t.Fatal(err)
				}
				shown = append(shown, buf[:n]...)
			}
			if bytes.Contains(shown, []byte(tt.first)) || bytes.Contains(shown, []byte(tt.second)) {
				t.Errorf("the terminal echoed the password: %q", shown)
			}
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || hash() != before {
					t.Errorf("error = %v, want %q and no change", err, tt.wantErr)
				}
				return
			}
			if err != nil || stdout.String() != "password set for RN1\n" {
				t.Fatalf("staff password: %q, %v", stdout.String(), err)
			}
			if bcrypt.CompareHashAndPassword([]byte(hash()), []byte(tt.first)) != nil {
				t.Error("the password typed is not the one stored")
			}
		})
	}
}

// openPTY opens a pseudo-terminal pair: the master end (the keyboard and screen) and the
// terminal a command reads.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	var unlock int32
	var n uint32
	for _, c := range []struct {
		req uintptr
		arg unsafe.Pointer
	}{{syscall.TIOCSPTLCK, unsafe.Pointer(&unlock)}, {syscall.TIOCGPTN, unsafe.Pointer(&n)}} {
		if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), c.req, uintptr(c.arg)); errno != 0 {
			t.Fatalf("ioctl on /dev/ptmx: %v", errno)
		}
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	return master, tty
}

// watched is a writer whose content a test can wait for.
type watched struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	written chan struct{}
}

func newWatched() *watched { return &watched{written: make(chan struct{}, 1)} }

func (w *watched) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	select {
	case w.written <- struct{}{}:
	default:
	}
	return len(p), nil
}

// waitFor waits until s has been written.
func (w *watched) waitFor(t *testing.T, s string) {
	t.Helper()
	for {
		w.mu.Lock()
		found := strings.Contains(w.buf.String(), s)
		w.mu.Unlock()
		if found {
			return
		}
		<-w.written
	}
}
