//go:build faults

package faults

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The cmd/worker binary, built once per test run.
var (
	workerBinOnce sync.Once
	workerBinDir  string
	workerBin     string
	workerBinErr  error
)

func buildWorker(t *testing.T) string {
	t.Helper()
	workerBinOnce.Do(func() {
		workerBinDir, workerBinErr = os.MkdirTemp("", "faults-worker-*")
		if workerBinErr != nil {
			return
		}
		workerBin = filepath.Join(workerBinDir, "worker")
		goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(goTool); err != nil {
			goTool = "go"
		}
		cmd := exec.Command(goTool, "build", "-o", workerBin, "github.com/shopflow/orderpay/cmd/worker")
		out, err := cmd.CombinedOutput()
		if err != nil {
			workerBinErr = &buildError{err: err, out: string(out)}
		}
	})
	if workerBinErr != nil {
		t.Fatalf("build cmd/worker: %v", workerBinErr)
	}
	return workerBin
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// workerProcess is cmd/worker running as a child process with the system's
// configuration (the same environment variables the API was configured
// from: see system.env).
type workerProcess struct {
	t       *testing.T
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
}

// startWorker starts cmd/worker against the system's Temporal, database
// and sandbox; its output goes to a log printed if the test fails.
func (s *system) startWorker(name string) *workerProcess {
	s.t.Helper()
	bin := buildWorker(s.t)
	logPath := filepath.Join(s.stateDir, name+".log")
	logFile, err := os.Create(logPath)
	must(s.t, err)
	cmd := exec.Command(bin)
	cmd.Env = os.Environ() // startSystem put the configuration in the environment (t.Setenv)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = childProcAttr()
	must(s.t, cmd.Start())
	w := &workerProcess{t: s.t, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(w.exited)
	}()
	s.t.Cleanup(func() {
		w.kill()
		if s.t.Failed() {
			dumpTail(s.t, name+" log", logPath, 40)
		}
	})
	return w
}

// kill sends SIGKILL and waits for the process to be gone.
func (w *workerProcess) kill() {
	select {
	case <-w.exited:
		return
	default:
	}
	_ = w.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-w.exited:
	case <-time.After(30 * time.Second):
		w.t.Errorf("worker %d did not exit after SIGKILL", w.cmd.Process.Pid)
	}
}

// running reports whether the process is still alive.
func (w *workerProcess) running() bool {
	select {
	case <-w.exited:
		return false
	default:
		return true
	}
}
