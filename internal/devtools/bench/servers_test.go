package bench

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// report is a small run: levels (concurrency, bare/s, orders/s) and a
// flash sale.
func report(server string, levels [][3]float64, sale *Sale) *Report {
	r := &Report{Server: server, Started: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	r.Finished = r.Started.Add(6 * time.Minute)
	for _, l := range levels {
		r.Levels = append(r.Levels, Level{
			Concurrency: int(l[0]),
			Baseline:    &BaselineResult{Throughput: l[1]},
			Flow:        &Result{Throughput: l[2], PlaceOrder: Latency{N: 10, P50: 40, P99: 90}, EndToEnd: Latency{N: 10, P50: 60, P99: 120}},
			Ratio:       l[2] / l[1],
		})
	}
	if sale != nil {
		r.Hot = &Result{Sale: sale, StockOK: !sale.Oversold, Config: ConfigSummary{HotSKU: 3, OnePerBuyer: true}}
	}
	return r
}

func TestReadReportsKeepsTheOrderGiven(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for _, name := range []string{"dev", "server"} {
		raw, err := json.Marshal(report(name, [][3]float64{{1, 10, 12}}, nil))
		require.NoError(t, err)
		p := filepath.Join(dir, name+".json")
		require.NoError(t, os.WriteFile(p, raw, 0o600))
		paths = append(paths, p)
	}
	got, err := ReadReports(paths[0] + ", " + paths[1])
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, "dev", got[0].Server)
	assert.Equal(t, "server", got[1].Server)

	_, err = ReadReports("")
	assert.Error(t, err, "no file named")
	_, err = ReadReports(filepath.Join(dir, "missing.json"))
	assert.Error(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.json"), []byte("{"), 0o600))
	_, err = ReadReports(filepath.Join(dir, "bad.json"))
	assert.Error(t, err)
}

func TestServerName(t *testing.T) {
	assert.Equal(t, "Temporal dev server", (&Report{}).ServerName(), "results saved before the field existed")
	r := &Report{Server: "Temporal server v1.29.1 (PostgreSQL, 4 shards)"}
	assert.Equal(t, "Temporal server v1.29.1", r.shortName())
}

func TestSideBySideLinesUpTheLevelsOfEachServer(t *testing.T) {
	dev := report("Temporal CLI dev server v1.29.1 (SQLite)", [][3]float64{{1, 10, 12}, {100, 25, 35}},
		&Sale{Units: 100, Orders: 1000, Accepted: 100, Refused: 900, Completed: 100, SoldOut: true, SoldOutS: 2.5})
	srv := report("Temporal server v1.29.1 (PostgreSQL, 4 shards)", [][3]float64{{1, 5, 8}, {32, 10, 17}, {100, 12, 24}},
		&Sale{Units: 100, Orders: 1000, Accepted: 100, Refused: 900, Completed: 100, SoldOut: true, SoldOutS: 4})
	reports := []*Report{dev, srv}
	assert.Equal(t, []int{1, 32, 100}, concurrencies(reports))

	text := SideBySideText(reports)
	assert.Contains(t, text, "[1] Temporal CLI dev server v1.29.1 (SQLite)")
	assert.Contains(t, text, "[2] Temporal server v1.29.1 (PostgreSQL, 4 shards)")
	assert.Contains(t, text, "ratio at 100 buyers")
	assert.Contains(t, text, "1.40× (35.0 / 25.0 per s)")
	assert.Contains(t, text, "2.00× (24.0 / 12.0 per s)")
	assert.Contains(t, text, "100 / 900 / 0", "flash sale: accepted / refused / paid then refunded")
	for line := range strings.SplitSeq(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "32 ") {
			assert.Contains(t, line, "–", "the dev server ran no level 32")
			assert.Contains(t, line, "1.70×")
		}
	}
	assert.Empty(t, SideBySideText(reports[:1]), "one server: nothing to put side by side")

	md := Markdown(dev, "", srv)
	assert.Contains(t, md, "## Dev server and real Temporal server side by side")
	assert.Contains(t, md, "| Temporal CLI dev server v1.29.1 | Temporal server v1.29.1 |")
	assert.Contains(t, md, "| 100 | 25.0 | 35.0 | **1.40×** |")
	assert.Contains(t, md, "| 32 | – | – | – | – | – | 10.0 | 17.0 | **1.70×** |")
	assert.Contains(t, md, "| buyers | dev: bare /s | dev: orders /s | dev: ratio |")
	assert.Contains(t, md, "Flash sale on the Temporal server v1.29.1: 1000 buyers for 100 units")
	assert.Contains(t, md, "then the same on the Temporal server v1.29.1 (PostgreSQL, 4 shards)")
	assert.NotContains(t, Markdown(dev, ""), "side by side\n", "one server: no such section")
}

func TestRatioIsNotApplicableWhenTheBareWorkflowCompletedNothing(t *testing.T) {
	r := report("Temporal server", [][3]float64{{1, 4, 10}, {32, 2, 8}, {100, 0, 7.7}}, nil)
	r.Levels[2].Ratio = 0
	assert.Equal(t, "2.50×", r.Levels[0].RatioText())
	assert.Equal(t, "n/a", r.Levels[2].RatioText())
	assert.Contains(t, r.Summary(), "n/a")
	assert.Contains(t, Markdown(r, ""), "| 100 | 0.0 | 7.7 | **n/a** |")
	for _, k := range keyFigures([]*Report{r}) {
		if strings.HasPrefix(k.name, "ratio, median") {
			assert.Equal(t, "3.25×", k.get(r), "the median of the levels that have a ratio (2.5 and 4)")
		}
	}
}

func TestMedian(t *testing.T) {
	assert.Equal(t, 2.0, median([]float64{3, 1, 2}))
	assert.Equal(t, 2.5, median([]float64{4, 1, 3, 2}))
}

func TestTemporalCPUCountsItsDatabases(t *testing.T) {
	u := CPUUse{"temporal": 40, "temporal-db": 15, "postgres": 9, "api": 8}
	assert.Equal(t, 55.0, temporalCPU(u))
}

func TestReadReportsFillsTheUnitsHeldOfOlderResults(t *testing.T) {
	r := report("dev", [][3]float64{{1, 10, 12}}, &Sale{Units: 100, Orders: 1000, Accepted: 82, Completed: 82, Refused: 918})
	r.Hot.Stock = []StockCheck{{ProductID: 1, Sold: 5, Completed: 5}, {ProductID: 3, Before: 100, After: 0, Sold: 100, Completed: 82}}
	raw, err := json.Marshal(r)
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), "old.json")
	require.NoError(t, os.WriteFile(p, raw, 0o600))
	got, err := ReadReports(p)
	require.NoError(t, err)
	assert.EqualValues(t, 18, got[0].Hot.Sale.Held, "100 units gone, 82 completed")
}

func TestLevelWarmupCoversACycleAndAHalf(t *testing.T) {
	base := 3 * time.Second
	assert.Equal(t, base, LevelWarmup(base, 1, -1), "first level: the configured warm-up")
	assert.Equal(t, base, LevelWarmup(base, 4, 10), "4 clients at 10/s: 0.4 s a cycle")
	assert.Equal(t, 15*time.Second, LevelWarmup(base, 100, 10), "100 clients at 10/s: 10 s a cycle, 15 s of warm-up")
	assert.Equal(t, 30*time.Second, LevelWarmup(base, 100, 1), "capped at 30 s")
	assert.Equal(t, 30*time.Second, LevelWarmup(base, 100, 0), "after a level that completed nothing: the cap")
	assert.Equal(t, 40*time.Second, LevelWarmup(40*time.Second, 100, 10), "never below the configured warm-up")
}
