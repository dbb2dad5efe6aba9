//go:build unix

package main

import (
	"fmt"
	"syscall"
)

// replaceProcess replaces this process with path (execve).
func replaceProcess(path string, argv, env []string) error {
	if err := syscall.Exec(path, argv, env); err != nil {
		return fmt.Errorf("exec %s: %w", path, err)
	}
	return nil
}
