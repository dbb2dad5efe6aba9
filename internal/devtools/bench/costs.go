package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// HistoryCost counts one workflow history's events by what they cost.
type HistoryCost struct {
	Events          int            `json:"events"`
	WorkflowTasks   int            `json:"workflow_tasks"`   // completed workflow tasks
	Activities      int            `json:"activities"`       // regular activities scheduled (each one a provider call in the order flow)
	LocalActivities int            `json:"local_activities"` // local-activity markers
	Timers          int            `json:"timers"`
	Signals         int            `json:"signals"`
	Updates         int            `json:"updates"` // updates accepted
	Upserts         int            `json:"upserts"` // search-attribute upserts
	Types           map[string]int `json:"types,omitempty"`
}

// CountHistory classifies a history's events.
func CountHistory(events []*historypb.HistoryEvent) HistoryCost {
	c := HistoryCost{Events: len(events), Types: map[string]int{}}
	for _, e := range events {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			c.WorkflowTasks++
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			c.Activities++
			c.Types[e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()]++
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			m, ok := localActivityMarker(e)
			if !ok {
				continue
			}
			c.LocalActivities++
			if m.ActivityType != "" {
				c.Types["local "+m.ActivityType]++
			}
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			c.Timers++
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			c.Signals++
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
			c.Updates++
		case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			c.Upserts++
		}
	}
	return c
}

// localMarker is what the Go SDK records of a local activity in its
// marker's "data" detail.
type localMarker struct {
	ActivityType string
	// ReplayTime is when the activity's result reached the workflow: the
	// task's start on Temporal's clock plus the worker's elapsed time.
	ReplayTime time.Time
}

// localActivityMarker reads a local-activity marker; false for any other
// event. Fields it cannot read stay zero.
func localActivityMarker(e *historypb.HistoryEvent) (localMarker, bool) {
	a := e.GetMarkerRecordedEventAttributes()
	if a.GetMarkerName() != "LocalActivity" {
		return localMarker{}, false
	}
	var m localMarker
	if p := a.GetDetails()["data"].GetPayloads(); len(p) > 0 && json.Unmarshal(p[0].GetData(), &m) != nil {
		m = localMarker{}
	}
	return m, true
}

// readHistory reads a workflow's history, up to and including the first
// event until reports (nil: all of it).
func readHistory(ctx context.Context, tc client.Client, workflowID string, until func(*historypb.HistoryEvent) bool) ([]*historypb.HistoryEvent, error) {
	it := tc.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []*historypb.HistoryEvent
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return events, fmt.Errorf("history of %s: %w", workflowID, err)
		}
		events = append(events, e)
		if until != nil && until(e) {
			break
		}
	}
	return events, nil
}

// OrderCost is what one completed order costs on average, measured from a
// few orders' histories and the database's counters over a run.
type OrderCost struct {
	Samples int `json:"samples"` // histories read
	HistoryCost
	// Database, per order finished in the run (from pg_stat_database; the
	// buyer's polls and logins count too). Zero when not measured.
	DBTransactions float64 `json:"db_transactions,omitempty"`
	DBRowsWritten  float64 `json:"db_rows_written,omitempty"`
}

// ReadOrderCost reads the histories of the given order workflows and
// averages their cost (each field to the nearest integer: all paid
// orders of one channel take the same path).
func ReadOrderCost(ctx context.Context, tc client.Client, workflowIDs []string) (OrderCost, error) {
	var sum OrderCost
	sum.Types = map[string]int{}
	for _, id := range workflowIDs {
		events, err := readHistory(ctx, tc, id, nil)
		if err != nil {
			return sum, err
		}
		sum.add(CountHistory(events))
	}
	return sum.average(), nil
}

func (c *OrderCost) add(h HistoryCost) {
	c.Samples++
	c.Events += h.Events
	c.WorkflowTasks += h.WorkflowTasks
	c.Activities += h.Activities
	c.LocalActivities += h.LocalActivities
	c.Timers += h.Timers
	c.Signals += h.Signals
	c.Updates += h.Updates
	c.Upserts += h.Upserts
	for k, v := range h.Types {
		c.Types[k] += v
	}
}

func (c OrderCost) average() OrderCost {
	n := c.Samples
	if n == 0 {
		return c
	}
	avg := func(v int) int { return (2*v + n) / (2 * n) } // to the nearest
	out := OrderCost{Samples: n, HistoryCost: HistoryCost{
		Events: avg(c.Events), WorkflowTasks: avg(c.WorkflowTasks), Activities: avg(c.Activities),
		LocalActivities: avg(c.LocalActivities), Timers: avg(c.Timers), Signals: avg(c.Signals),
		Updates: avg(c.Updates), Upserts: avg(c.Upserts), Types: map[string]int{},
	}}
	for k, v := range c.Types {
		out.Types[k] = avg(v)
	}
	return out
}

// DBCounters are one database's cumulative counters (pg_stat_database).
type DBCounters struct {
	XactCommit int64
	RowsWrite  int64 // inserted + updated + deleted
}

// SampleDB reads the counters of the database dsn names (zero values when
// it cannot). PostgreSQL publishes them with a delay of up to
// stats_fetch_consistency / the stats collector's interval, so sample a
// second after the load stops.
func SampleDB(ctx context.Context, dsn string) DBCounters {
	var c DBCounters
	if dsn == "" {
		return c
	}
	db, err := gorm.Open(postgres.Open(dsn), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return c
	}
	if sqlDB, err := db.DB(); err == nil {
		defer sqlDB.Close()
	}
	db.WithContext(ctx).Raw(`SELECT xact_commit, tup_inserted + tup_updated + tup_deleted AS rows_write
		FROM pg_stat_database WHERE datname = current_database()`).Row().Scan(&c.XactCommit, &c.RowsWrite)
	return c
}

// SetDB fills the database columns from two samples around a run that
// finished orders orders.
func (c *OrderCost) SetDB(before, after DBCounters, orders int) {
	if orders <= 0 || after.XactCommit == 0 {
		return
	}
	c.DBTransactions = float64(after.XactCommit-before.XactCommit) / float64(orders)
	c.DBRowsWritten = float64(after.RowsWrite-before.RowsWrite) / float64(orders)
}

// costMinimum is what a paid order needs at least, by reasoning about the
// flow (not measured): one workflow task for the start and the
// Update-with-Start that answers the buyer, one for the notify signal; one
// provider call (prepay), inside the first task as a local activity (the
// buyer waits for it, it is idempotent by out_trade_no and bounded to a
// minute); three local activities with a transaction each — the order
// written (and its stock reserved) before the provider hears of it, the
// prepay with the awaiting_payment status, and the post-payment steps
// (record the payment, take the stock, grant, complete) in one; the
// payment window's timer, cancelled by the payment; two upserts of
// OrderStatus (awaiting_payment, so operators can list unpaid orders; and
// the final status). Events to completion: started, 2 × (scheduled,
// started, completed), update accepted and completed, 3 markers, timer
// started and cancelled, signal, 2 upserts, completed = 18. A paid order
// asks no GetVersion: the API starts it with its flow's revision
// (contract.OrderRevision); a workflow change guarded by GetVersion on its
// path would add its marker and the SDK's TemporalChangeVersion upsert (a
// visibility write). A goods order stays open after completion for its
// delivery.
var costMinimum = []struct {
	Name string
	Min  string
}{
	{"history events", "18 (+2 per GetVersion asked)"},
	{"workflow tasks", "2"},
	{"regular activities", "0 (the prepay is local: see above)"},
	{"local activities", "3 (write the order; prepay; the post-payment steps in one transaction)"},
	{"timers", "1 (payment window)"},
	{"signals", "1 (verified notify)"},
	{"updates", "1 (place order: Update-with-Start)"},
	{"search-attribute upserts", "2 (awaiting_payment, final status; +1 per GetVersion asked)"},
	{"DB transactions", "3 writes (order, prepay, post-payment) + the buyer's reads"},
	{"DB rows written", "~8 (order, line, reservation, payment, status, stock, grant, status)"},
}

// CostTable renders the per-order cost next to the minimum.
func (c OrderCost) CostTable() string {
	if c.Samples == 0 {
		return ""
	}
	measured := c.measured()
	var b strings.Builder
	fmt.Fprintf(&b, "\nper-order cost (histories of %d completed orders; database per finished order of the run):\n", c.Samples)
	fmt.Fprintf(&b, "  %-38s %10s   %s\n", "", "measured", "minimum the flow needs")
	for i, m := range costMinimum {
		fmt.Fprintf(&b, "  %-38s %10s   %s\n", m.Name, measured[i], m.Min)
	}
	if len(c.Types) > 0 {
		fmt.Fprintf(&b, "  activities: %s\n", c.typeList())
	}
	return b.String()
}

// measured are the figures of the rows of costMinimum, in its order.
func (c OrderCost) measured() []string {
	return []string{
		fmt.Sprint(c.Events), fmt.Sprint(c.WorkflowTasks), fmt.Sprint(c.Activities), fmt.Sprint(c.LocalActivities),
		fmt.Sprint(c.Timers), fmt.Sprint(c.Signals), fmt.Sprint(c.Updates), fmt.Sprint(c.Upserts),
		dbFigure(c.DBTransactions), dbFigure(c.DBRowsWritten),
	}
}

func (c OrderCost) typeList() string {
	keys := make([]string, 0, len(c.Types))
	for k := range c.Types {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d", k, c.Types[k])
	}
	return strings.Join(parts, ", ")
}

func dbFigure(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", v)
}

// markdown is the per-order cost section of docs/benchmarks.md.
func (c OrderCost) markdown() string {
	if c.Samples == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n## Where an order's time goes (per-order cost)\n\n")
	fmt.Fprintf(&b, "Read from the histories of %d completed orders of the highest closed-loop level (events by kind) and from PostgreSQL's `pg_stat_database` "+
		"around that level (transactions and rows written per finished order; the buyer's login and polls count too), next to the least the flow needs "+
		"(reasoned, not measured: see `costMinimum` in internal/devtools/bench/costs.go).\n\n", c.Samples)
	b.WriteString("| per order | measured | minimum the flow needs |\n| --- | ---: | --- |\n")
	measured := c.measured()
	for i, m := range costMinimum {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", m.Name, measured[i], m.Min)
	}
	if len(c.Types) > 0 {
		fmt.Fprintf(&b, "\nActivities per order: %s.\n", c.typeList())
	}
	return b.String()
}
