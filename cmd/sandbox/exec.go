package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/shopflow/orderpay/internal/devtools/sandbox/all"
)

// execWithMerchantEnv implements `sandbox exec [-env FILE] [-wait D] -- CMD
// [ARGS…]`: it waits for the sandbox's merchant.env, exports each of its
// variables that the environment does not set already (what
// deploy/run-dev.sh does with a shell) and replaces itself with CMD. It is
// for containers without a shell, like the API and worker of
// docker-compose.yml.
func execWithMerchantEnv(args []string) error {
	fs := flag.NewFlagSet("sandbox exec", flag.ContinueOnError)
	envFile := fs.String("env", envOr("SANDBOX_DIR", ".data/sandbox")+"/"+all.MerchantEnvFile, "the sandbox's merchant.env")
	wait := fs.Duration("wait", time.Minute, "how long to wait for the file to appear")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("exec: no command given (sandbox exec [-env FILE] -- CMD [ARGS…])")
	}
	deadline := time.Now().Add(*wait)
	var f *os.File
	for {
		var err error
		if f, err = os.Open(*envFile); err == nil {
			break
		} else if !errors.Is(err, os.ErrNotExist) || time.Now().After(deadline) {
			return fmt.Errorf("exec: open merchant env: %w", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	env, err := all.ParseMerchantEnv(f)
	_ = f.Close()
	if err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	for k, v := range env {
		if os.Getenv(k) == "" {
			if err := os.Setenv(k, v); err != nil {
				return fmt.Errorf("exec: set %s: %w", k, err)
			}
		}
	}
	path, err := exec.LookPath(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	return replaceProcess(path, fs.Args(), os.Environ())
}
