// Package cmd_test checks properties of the binaries under cmd/ as a whole.
package cmd_test

import (
	"errors"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// productionBinaries are the binaries deployed to production. They must not
// link the provider sandbox or any other development tooling: the sandbox
// hands its test credentials to a dev run only through its merchant.env
// (see internal/devtools/sandbox.WriteMerchantEnv), never through code.
var productionBinaries = []string{"./cmd/api", "./cmd/worker", "./cmd/probe", "./cmd/migrate"}

// goCommand is the go command that runs this test (go test puts
// $GOROOT/bin first on PATH), falling back to the toolchain's GOROOT.
func goCommand() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

func TestProductionBinariesDoNotLinkDevtools(t *testing.T) {
	args := append([]string{"list", "-deps", "-f", "{{.ImportPath}}"}, productionBinaries...)
	cmd := exec.Command(goCommand(), args...)
	cmd.Dir = ".." // the module root
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	pkgs := strings.Fields(string(out))
	if len(pkgs) == 0 {
		t.Fatalf("go %s listed no packages", strings.Join(args, " "))
	}
	var bad []string
	for _, p := range pkgs {
		if strings.Contains(p, "/internal/devtools/") || strings.Contains(p, "/sandbox") {
			bad = append(bad, p)
		}
	}
	if len(bad) > 0 {
		t.Errorf("%s link development-only packages:\n  %s", strings.Join(productionBinaries, " and "), strings.Join(bad, "\n  "))
	}
}
