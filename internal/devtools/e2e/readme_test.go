package e2e

import (
	"bytes"
	"context"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/devtools/apicontract"
)

// What make run uses (deploy/run-dev.sh), which the README's examples name.
const (
	readmeAPI           = "http://127.0.0.1:8080"
	readmeSandbox       = "http://127.0.0.1:8090"
	readmeAdminUser     = "admin"
	readmeAdminPassword = "dev-admin-password"
)

// readmeWalkthrough returns the shell blocks of README.md's walk-through
// section, in order.
func readmeWalkthrough(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("../../../README.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(raw), "\n## Walk-through")
	require.True(t, ok, "README.md has no Walk-through section")
	if i := strings.Index(section, "\n## "); i >= 0 {
		section = section[:i]
	}
	var blocks []string
	for {
		_, rest, ok := strings.Cut(section, "```sh\n")
		if !ok {
			break
		}
		block, after, ok := strings.Cut(rest, "```")
		require.True(t, ok, "unterminated shell block in README.md")
		blocks, section = append(blocks, block), after
	}
	return blocks
}

// TestReadmeWalkthrough runs README.md's walk-through as a reader pastes it,
// block after block in one shell, against the whole system (the API and
// sandbox addresses of make run replaced by the test's), through a proxy
// that validates every exchange against the OpenAPI document; it fails
// when an example is refused or its answers differ from what the README
// says.
func TestReadmeWalkthrough(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("jq is missing (make test installs it in CI)")
		}
		t.Skip("jq is missing: apt-get install jq (make test does it in CI)")
	}
	runDev, err := os.ReadFile("../../../deploy/run-dev.sh")
	require.NoError(t, err)
	for _, want := range []string{readmeAPI[len("http://"):], readmeSandbox[len("http://"):], ":-" + readmeAdminUser + "}", ":-" + readmeAdminPassword + "}"} {
		require.Contains(t, string(runDev), want, "deploy/run-dev.sh no longer uses what the README names")
	}

	s := startSystem(t, options{adminUser: readmeAdminUser, adminPassword: readmeAdminPassword})
	target, err := url.Parse(s.apiURL)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = apicontract.NewTransport(t, s.apiURL)
	front := httptest.NewServer(proxy)
	t.Cleanup(front.Close)

	blocks := readmeWalkthrough(t)
	require.GreaterOrEqual(t, len(blocks), 3, "the walk-through's shell blocks")
	script := "set -eo pipefail\n" + strings.Join(blocks, "\n")
	require.Contains(t, script, "API="+readmeAPI)
	script = strings.ReplaceAll(script, "API="+readmeAPI, "API="+front.URL)
	script = strings.ReplaceAll(script, readmeSandbox, s.sandboxURL)

	// A bound on the whole run, so that a wait that never ends fails the
	// test instead of hanging it.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	output := out.String()
	require.NoError(t, err, "the walk-through failed\nstdout:\n%s\nstderr:\n%s", output, errOut.String())

	var wrong []string
	for _, refused := range []string{`"error"`, "null\n"} { // an example refused, or a value missing
		if strings.Contains(output, refused) {
			wrong = append(wrong, "printed "+refused)
		}
	}
	for _, want := range []string{
		`"status": "completed"`, `"points_awarded": 136`, // step 5
		`"channel": "balance"`, `"paid": true`, `"balance_after": 3200`, // the wallet
		`"free"`,                    // the free order
		`"status": "cancelled"`,     // cancel before paying
		`"refund_no": "RF-1"`,       // the refund is accepted
		`"action": "refund.create"`, // and audited
	} {
		if !strings.Contains(output, want) {
			wrong = append(wrong, "did not print "+want)
		}
	}
	if len(wrong) > 0 {
		t.Errorf("the walk-through %s\noutput:\n%s", strings.Join(wrong, "; "), output)
	}
	assert.Equal(t, int64(1), s.count("refunds", "refund_no = ? AND amount_cents = ?", "RF-1", 3400))
}
