//go:build faults && !linux

package faults

import "syscall"

// childProcAttr: outside Linux, t.Cleanup is what stops child processes.
func childProcAttr() *syscall.SysProcAttr { return nil }
