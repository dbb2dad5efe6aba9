package bench

import (
	"bytes"
	"image/png"
	"os"
	"testing"
	"time"
)

func fakeReport() *Report {
	r := &Report{
		Machine: Machine{CPU: "Test CPU @ 2.0GHz", Cores: 2, Go: "go1.26", Temporal: "1.5.1 (Server 1.29.1)", Postgres: "PostgreSQL 15"},
		Started: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), Duration: 12, Warmup: 3,
	}
	for i, c := range []int{4, 16, 32, 64} {
		f := float64(i + 1)
		r.Levels = append(r.Levels, Level{
			Concurrency: c,
			Baseline:    &BaselineResult{Concurrency: c, Throughput: 40 * f, EndToEnd: Latency{N: 10, P99: 90 * f}},
			Flow: &Result{Throughput: 44 * f, PlaceOrder: Latency{N: 10, P50: 8, P95: 12 * f, P99: 15 * f},
				NotifyHandler: Latency{N: 10, P99: 6 * f}, EndToEnd: Latency{N: 10, P99: 80 * f}},
			Ratio: 1.1,
		})
	}
	return r
}

func TestChartIsAPNG(t *testing.T) {
	raw, err := Chart(fakeReport())
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() < 800 || b.Dy() < 400 {
		t.Fatalf("chart is %v", b)
	}
	if p := os.Getenv("BENCH_CHART_OUT"); p != "" {
		if err := os.WriteFile(p, raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
