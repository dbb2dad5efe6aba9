//go:build faults && linux

package faults

import "syscall"

// childProcAttr makes a child process die with the test binary, even when
// the test binary itself is killed (a -timeout panic, Ctrl-C).
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
