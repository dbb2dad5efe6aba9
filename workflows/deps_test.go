package workflows

import (
	"os/exec"
	"strings"
	"testing"
)

// TestWorkflowsLinkNoDatabaseOrProviderSDK keeps the workflow code (and
// the activities it references by method) free of the database layer and
// the payment providers' SDKs: replaying a history must not depend on them.
func TestWorkflowsLinkNoDatabaseOrProviderSDK(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	var bad []string
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "gorm.io/") || strings.HasPrefix(pkg, "github.com/go-pay/") {
			bad = append(bad, pkg)
		}
	}
	if len(bad) > 0 {
		t.Fatalf("workflows depends on %d forbidden packages (gorm.io/…, github.com/go-pay/…):\n%s", len(bad), strings.Join(bad, "\n"))
	}
}
