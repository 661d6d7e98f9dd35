//go:build !linux

package main

import "os"

// echoOff reports no terminal where the system's terminal calls are not wired: the password is
// then read as a line from standard input, as from a pipe.
func echoOff(*os.File) (restore func(), ok bool) { return nil, false }
