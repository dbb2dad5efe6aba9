package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TemporalCLI finds the Temporal CLI: $TEMPORAL_CLI, then $GOPATH/bin,
// then $PATH. It skips (fails in CI) when none is installed.
func TemporalCLI(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("TEMPORAL_CLI"); p != "" {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = string(out[:len(out)-1])
		}
	}
	if gopath != "" {
		p := filepath.Join(gopath, "bin", "temporal")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("temporal"); err == nil {
		return p
	}
	Unavailable(t, "Temporal CLI not installed (make tools)")
	return ""
}
