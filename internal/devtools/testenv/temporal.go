package testenv

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/shopflow/orderpay/internal/contract"
	"go.temporal.io/sdk/testsuite"
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

// One Temporal dev server (the real CLI) serves every test of a package.
var (
	devServerOnce sync.Once
	devServer     *testsuite.DevServer
	devServerErr  error
)

// TemporalDevServer starts the package's dev server on first use (WAL
// pragmas, the order search attributes registered) and returns its
// frontend address. Call StopTemporalDevServer from TestMain.
func TemporalDevServer(t testing.TB) string {
	t.Helper()
	cli := TemporalCLI(t)
	devServerOnce.Do(func() {
		devServer, devServerErr = testsuite.StartDevServer(context.Background(), testsuite.DevServerOptions{
			ExistingPath: cli,
			LogLevel:     "error",
			ExtraArgs: append([]string{"--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"},
				contract.SearchAttributeFlags...),
		})
	})
	if devServerErr != nil {
		t.Fatalf("start Temporal dev server: %v", devServerErr)
	}
	return devServer.FrontendHostPort()
}

// StopTemporalDevServer stops the package's dev server, if one started.
func StopTemporalDevServer() {
	if devServer != nil {
		_ = devServer.Stop()
	}
}
