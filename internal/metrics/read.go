package metrics

import (
	"fmt"
	"io"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// ParseText parses a /metrics answer (the Prometheus text format) into its
// metric families, for the tests and tools that scrape a process.
func ParseText(r io.Reader) (map[string]*dto.MetricFamily, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parse metrics: %w", err)
	}
	return fams, nil
}

// Value gathers g and returns Find's answer.
func Value(g prometheus.Gatherer, name string, labels ...string) (float64, bool) {
	fams, err := g.Gather()
	if err != nil {
		return 0, false
	}
	byName := make(map[string]*dto.MetricFamily, len(fams))
	for _, f := range fams {
		byName[f.GetName()] = f
	}
	return Find(byName, name, labels...)
}

// Find sums the samples of name whose labels include the given pairs
// (label, value, label, value…). A histogram's name_count, name_sum and
// name_bucket (with label "le") are found under its family name. It
// reports false when no sample matches.
func Find(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	family, suffix := name, ""
	if _, ok := fams[name]; !ok {
		for _, s := range []string{"_count", "_sum", "_bucket"} {
			if base, cut := strings.CutSuffix(name, s); cut {
				family, suffix = base, s
				break
			}
		}
	}
	f, ok := fams[family]
	if !ok {
		return 0, false
	}
	var total float64
	found := false
	for _, m := range f.GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		v, ok := sample(m, suffix, labels)
		if ok {
			total += v
			found = true
		}
	}
	return total, found
}

func hasLabels(m *dto.Metric, pairs []string) bool {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i] == "le" {
			continue
		}
		match := false
		for _, l := range m.GetLabel() {
			if l.GetName() == pairs[i] && l.GetValue() == pairs[i+1] {
				match = true
				break
			}
		}
		if !match {
			return false
		}
	}
	return true
}

func sample(m *dto.Metric, suffix string, pairs []string) (float64, bool) {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue(), true
	case m.Gauge != nil:
		return m.Gauge.GetValue(), true
	case m.Untyped != nil:
		return m.Untyped.GetValue(), true
	case m.Histogram != nil:
		switch suffix {
		case "_count", "":
			return float64(m.Histogram.GetSampleCount()), true
		case "_sum":
			return m.Histogram.GetSampleSum(), true
		case "_bucket":
			for i := 0; i+1 < len(pairs); i += 2 {
				if pairs[i] != "le" {
					continue
				}
				for _, b := range m.Histogram.GetBucket() {
					if fmt.Sprint(b.GetUpperBound()) == pairs[i+1] {
						return float64(b.GetCumulativeCount()), true
					}
				}
			}
		}
	case m.Summary != nil:
		if suffix == "_sum" {
			return m.Summary.GetSampleSum(), true
		}
		return float64(m.Summary.GetSampleCount()), true
	}
	return 0, false
}
