package metrics

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// exportedNames is every metric name (with a histogram's _bucket, _count
// and _sum) that a process exports once each business metric has been
// recorded and the money at risk read.
func exportedNames(t *testing.T) map[string]bool {
	t.Helper()
	m := New(nil)
	defer m.Close()
	m.OrderMoved("completed", time.Time{}, time.Time{})
	m.OrderMoved("paid", time.Now().Add(-time.Minute), time.Now())
	m.Notify("wechatpay_v3", NotifyPayment, NotifyRefused, ReasonUnverified)
	m.RefundFinished("failed")
	m.ObserveHTTP("GET", "/livez", "200", time.Millisecond)
	m.Registry().MustRegister(newMoneyAtRisk(func(context.Context) ([]Risk, error) {
		return []Risk{{Kind: RiskPaidUnfulfilled}}, nil
	}, time.Minute))
	fams, err := m.Registry().Gather()
	require.NoError(t, err)
	names := map[string]bool{}
	for _, f := range fams {
		n := f.GetName()
		names[n] = true
		if f.GetType().String() == "HISTOGRAM" {
			names[n+"_bucket"], names[n+"_count"], names[n+"_sum"] = true, true, true
		}
	}
	return names
}

// temporalNames are the metric names the Temporal SDK in go.mod emits,
// read from its source (internal/common/metrics/constants.go) and named as
// the tally Prometheus scope names them: counters end in _total, timers
// (histograms) in _seconds with _bucket, _count and _sum.
func temporalNames(t *testing.T) map[string]bool {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-json", "go.temporal.io/sdk").Output()
	require.NoError(t, err, "go list -m go.temporal.io/sdk")
	var mod struct{ Dir string }
	require.NoError(t, json.Unmarshal(out, &mod))
	src, err := os.ReadFile(filepath.Join(mod.Dir, "internal", "common", "metrics", "constants.go"))
	require.NoError(t, err)
	consts := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^\s*(\w+)\s*=\s*(\w+)\s*\+\s*"(\w+)"`).FindAllStringSubmatch(string(src), -1) {
		prefix := "temporal_"
		if m[2] != "TemporalMetricsPrefix" {
			prefix = consts[m[2]]
		}
		consts[m[1]] = prefix + m[3]
	}
	require.NotEmpty(t, consts, "no metric names found in the SDK's constants.go")
	names := map[string]bool{}
	for _, n := range consts {
		for _, s := range []string{"", "_total", "_seconds", "_seconds_bucket", "_seconds_count", "_seconds_sum"} {
			names[n+s] = true
		}
	}
	return names
}

// TestAlertRulesUseExportedMetrics parses deploy/prometheus/alerts.yml and
// checks that every rule is complete and that every metric its expression
// names is exported by this code or by the Temporal SDK, so a renamed
// metric cannot leave an alert that never fires.
func TestAlertRulesUseExportedMetrics(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "prometheus", "alerts.yml"))
	require.NoError(t, err)
	var file struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &file))
	known := exportedNames(t)
	for n := range temporalNames(t) {
		known[n] = true
	}
	metricName := regexp.MustCompile(`\b(?:orderpay|temporal)_[a-z0-9_]+\b`)
	alerts := map[string]bool{}
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			require.NotEmpty(t, r.Alert, "group %s: a rule without a name", g.Name)
			assert.False(t, alerts[r.Alert], "alert %s defined twice", r.Alert)
			alerts[r.Alert] = true
			assert.Contains(t, []string{"page", "warning"}, r.Labels["severity"], "%s: severity", r.Alert)
			assert.NotEmpty(t, r.Annotations["summary"], "%s: summary", r.Alert)
			if r.For != "" {
				_, err := time.ParseDuration(r.For)
				assert.NoError(t, err, "%s: for", r.Alert)
			}
			names := metricName.FindAllString(r.Expr, -1)
			assert.NotEmpty(t, names, "%s names no metric", r.Alert)
			for _, n := range names {
				assert.True(t, known[n], "%s: metric %s is not exported", r.Alert, n)
			}
		}
	}
	for _, want := range []string{"OrderpayMoneyAtRisk", "OrderpayNotifyRefusalRate", "OrderpayHTTP5xxRate",
		"TemporalWorkflowTaskScheduleToStartHigh", "TemporalWorkerPollFailures", "OrderpayRefundFailures"} {
		assert.True(t, alerts[want], "alert %s missing", want)
	}
	if strings.Contains(string(raw), "\t") {
		t.Error("alerts.yml contains a tab")
	}
}

// TestAlertRulesWithPromtool checks the rules' syntax and runs their unit
// tests (deploy/prometheus/alerts_test.yml) with promtool, where it is
// installed (Debian: apt-get install prometheus).
func TestAlertRulesWithPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed")
	}
	dir := filepath.Join("..", "..", "deploy", "prometheus")
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		assert.NoError(t, err, "promtool %s:\n%s", strings.Join(args, " "), out)
	}
}

// TestDashboardUsesExportedMetrics parses deploy/grafana/orderpay.json and
// checks that every panel's queries name exported metrics only.
func TestDashboardUsesExportedMetrics(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "grafana", "orderpay.json"))
	require.NoError(t, err)
	var dash struct {
		UID    string `json:"uid"`
		Panels []struct {
			ID      int    `json:"id"`
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(raw, &dash))
	assert.Equal(t, "orderpay", dash.UID)
	known := exportedNames(t)
	for n := range temporalNames(t) {
		known[n] = true
	}
	metricName := regexp.MustCompile(`\b(?:orderpay|temporal)_[a-z0-9_]+\b`)
	ids, queries := map[int]bool{}, 0
	for _, p := range dash.Panels {
		assert.False(t, ids[p.ID], "panel id %d used twice", p.ID)
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		assert.NotEmpty(t, p.Targets, "panel %q has no query", p.Title)
		for _, q := range p.Targets {
			queries++
			names := metricName.FindAllString(q.Expr, -1)
			assert.NotEmpty(t, names, "panel %q: %s names no metric", p.Title, q.Expr)
			for _, n := range names {
				assert.True(t, known[n], "panel %q: metric %s is not exported", p.Title, n)
			}
		}
	}
	assert.Greater(t, queries, 10)
}
