package main

import (
	"os"
	"syscall"
	"unsafe"
)

// echoOff turns off the echo of the terminal f and returns what turns it back on; ok is false
// when f is not a terminal.
func echoOff(f *os.File) (restore func(), ok bool) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, false
	}
	var old syscall.Termios
	var errno syscall.Errno
	ioctl := func(req uintptr, t *syscall.Termios) {
		_ = rc.Control(func(fd uintptr) {
			_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(unsafe.Pointer(t)))
		})
	}
	if ioctl(syscall.TCGETS, &old); errno != 0 {
		return nil, false
	}
	quiet := old
	quiet.Lflag &^= syscall.ECHO
	quiet.Lflag |= syscall.ICANON | syscall.ECHONL
	if ioctl(syscall.TCSETS, &quiet); errno != 0 {
		return nil, false
	}
	return func() { ioctl(syscall.TCSETS, &old) }, true
}
