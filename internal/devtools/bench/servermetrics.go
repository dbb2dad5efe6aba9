package bench

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The dev server's Prometheus metrics say how much work each order costs
// Temporal (persistence calls, visibility writes) and how often a task met
// a waiting poller (sync match) instead of being written to the task
// queue's backlog and read back. Unlike CPU time these counts do not move
// with the machine's other load.

// ServerSample is a set of counters from the Temporal server's /metrics.
type ServerSample map[string]float64

// Keys of ServerSample.
const (
	keyPersistence = "persistence "  // + operation
	keyVisibility  = "visibility "   // + operation
	keyPoll        = "poll "         // + task queue
	keyPollSync    = "poll sync "    // + task queue
	keyTask        = "history task " // + task type
)

// SampleServer reads the counters (nil when url is empty or unreachable).
func SampleServer(ctx context.Context, url string) ServerSample {
	if url == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	defer res.Body.Close()
	s := ServerSample{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, ok := strings.Cut(line, "{")
		if !ok {
			continue
		}
		labels, value, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			continue
		}
		switch name {
		case "persistence_requests":
			s[keyPersistence+label(labels, "operation")] += v
		case "visibility_persistence_requests":
			s[keyVisibility+label(labels, "operation")] += v
		case "poll_success":
			s[keyPoll+label(labels, "taskqueue")] += v
		case "poll_success_sync":
			s[keyPollSync+label(labels, "taskqueue")] += v
		case "task_requests":
			s[keyTask+label(labels, "task_type")] += v
		}
	}
	return s
}

func label(labels, key string) string {
	for part := range strings.SplitSeq(labels, ",") {
		k, v, ok := strings.Cut(part, "=")
		if ok && k == key {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// background persistence calls run on timers, whatever the load; per item
// they only measure how long the run took.
var background = map[string]bool{
	"GetCurrentClusterMetadata": true, "GetClusterMetadata": true, "ListClusterMetadata": true,
	"GetNamespace": true, "ListNamespaces": true, "ListNexusEndpoints": true,
	"AssertShardOwnership": true, "UpdateShard": true, "GetTaskQueueUserData": true,
}

// ServerWork is Temporal's work per completed item between two samples.
type ServerWork struct {
	Persistence map[string]float64 `json:"persistence,omitempty"` // calls per item by operation
	Visibility  map[string]float64 `json:"visibility,omitempty"`  // visibility store calls per item
	Tasks       map[string]float64 `json:"history_tasks,omitempty"`
	SyncMatch   float64            `json:"sync_match"` // share of workflow tasks handed straight to a waiting poller
}

// PersistenceTotal is the persistence calls per item, visibility included.
func (w *ServerWork) PersistenceTotal() float64 {
	t := 0.0
	for _, v := range w.Persistence {
		t += v
	}
	for _, v := range w.Visibility {
		t += v
	}
	return t
}

// ServerWorkPerItem computes the work of the task queue taskQueue (as the
// metrics spell it: "-" becomes "_") per item.
func ServerWorkPerItem(before, after ServerSample, taskQueue string, items int) *ServerWork {
	if before == nil || after == nil || items <= 0 {
		return nil
	}
	tq := strings.ReplaceAll(taskQueue, "-", "_")
	w := &ServerWork{Persistence: map[string]float64{}, Visibility: map[string]float64{}, Tasks: map[string]float64{}}
	var poll, sync float64
	for k, v := range after {
		d := v - before[k]
		if d <= 0 {
			continue
		}
		per := d / float64(items)
		switch {
		case strings.HasPrefix(k, keyPersistence):
			op := strings.TrimPrefix(k, keyPersistence)
			if per >= 0.05 && !background[op] { // below that: background calls, not the run's
				w.Persistence[op] = per
			}
		case strings.HasPrefix(k, keyVisibility):
			w.Visibility[strings.TrimPrefix(k, keyVisibility)] = per
		case strings.HasPrefix(k, keyTask):
			w.Tasks[strings.TrimPrefix(k, keyTask)] = per
		case k == keyPoll+tq:
			poll = d
		case k == keyPollSync+tq:
			sync = d
		}
	}
	if poll > 0 {
		w.SyncMatch = sync / poll
	}
	return w
}

// String summarises the work in one line.
func (w *ServerWork) String() string {
	if w == nil {
		return "no server metrics"
	}
	var parts []string
	for _, m := range []map[string]float64{w.Persistence, w.Visibility} {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] })
		for _, k := range keys {
			if m[k] >= 0.5 {
				parts = append(parts, fmt.Sprintf("%s %.1f", k, m[k]))
			}
		}
	}
	return fmt.Sprintf("%.1f persistence calls each (%s); %.0f%% of workflow tasks sync-matched",
		w.PersistenceTotal(), strings.Join(parts, ", "), w.SyncMatch*100)
}
