package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
)

// Placement is one accepted order's POST /orders as its buyer timed it:
// from the arrival (the scheduled one in an open loop) to the answer.
type Placement struct {
	OrderNo string
	Start   time.Time
	Placed  time.Time
}

// PlaceSegments is where place-order's time goes, order by order: the
// buyer's two times around the events of the order's history (the server's
// clock on the same host). Each segment's percentiles are over the orders,
// so they do not add up to the place-order percentiles.
type PlaceSegments struct {
	Orders int `json:"orders"`
	// BeforeStart runs from the arrival to the workflow's start as Temporal
	// recorded it: the API's checks and writes (session, quote, order number
	// and Idempotency-Key), the Update-with-Start call and Temporal writing
	// the start.
	BeforeStart Latency `json:"before_start"`
	// ToWorker runs from the start to the first workflow task's pick-up by
	// a worker: Temporal's dispatch through its task queue.
	ToWorker Latency `json:"to_worker"`
	// FirstTask runs from that pick-up to the prepay update's completion as
	// Temporal recorded it: the worker's local activities (write the order
	// and reserve its units; the provider's prepay and awaiting_payment)
	// and Temporal recording the completed task.
	FirstTask Latency `json:"first_task"`
	// LocalActivities and RecordTask split FirstTask at the last local
	// activity's completion, as the SDK stamps it in its marker (the
	// task's start on Temporal's clock plus the worker's own elapsed time):
	// the worker's local activities, then the worker finishing the task
	// and Temporal recording it with the update's result. The task's way
	// from Temporal to the worker, which the marker's clock does not see
	// (it starts when the worker takes up the task), counts in RecordTask.
	LocalActivities Latency `json:"local_activities"`
	RecordTask      Latency `json:"record_task"`
	// Answer runs from the update's completion to the buyer's answer:
	// Temporal handing the update's result to the API, the API's reply.
	Answer Latency `json:"answer"`
}

// placeSpan is one order's four segments.
type placeSpan struct {
	beforeStart, toWorker, firstTask, answer time.Duration
	// localActivities + recordTask = firstTask; split only when the first
	// task's history has a local-activity marker (split).
	localActivities, recordTask time.Duration
	split                       bool
}

// spanOf splits a placement along its order's history: false when the
// history lacks the start, a picked-up task or the completed prepay update.
func spanOf(p Placement, events []*historypb.HistoryEvent) (placeSpan, bool) {
	var started, picked, answered, lastLocal time.Time
	for _, e := range events {
		at := e.GetEventTime().AsTime()
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			if m, ok := localActivityMarker(e); ok && m.ReplayTime.After(lastLocal) {
				lastLocal = m.ReplayTime
			}
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			started = at
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			if picked.IsZero() {
				picked = at
			}
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
			if answered.IsZero() {
				answered = at
			}
		}
		if !answered.IsZero() {
			break
		}
	}
	if started.IsZero() || picked.IsZero() || answered.IsZero() {
		return placeSpan{}, false
	}
	s := placeSpan{
		beforeStart: started.Sub(p.Start), toWorker: picked.Sub(started),
		firstTask: answered.Sub(picked), answer: p.Placed.Sub(answered),
	}
	if !lastLocal.IsZero() && !lastLocal.Before(picked) && !lastLocal.After(answered) {
		s.split = true
		s.localActivities, s.recordTask = lastLocal.Sub(picked), answered.Sub(lastLocal)
	}
	return s, true
}

// placeSegments summarises the spans.
func placeSegments(spans []placeSpan) PlaceSegments {
	var before, toWorker, task, answer, local, record []time.Duration
	for _, s := range spans {
		before, toWorker = append(before, s.beforeStart), append(toWorker, s.toWorker)
		task, answer = append(task, s.firstTask), append(answer, s.answer)
		if s.split {
			local, record = append(local, s.localActivities), append(record, s.recordTask)
		}
	}
	return PlaceSegments{Orders: len(spans), BeforeStart: summarize(before), ToWorker: summarize(toWorker),
		FirstTask: summarize(task), LocalActivities: summarize(local), RecordTask: summarize(record),
		Answer: summarize(answer)}
}

// ReadPlaceSegments reads the beginning of each placed order's history (4
// at a time, after the run: nothing else is measured meanwhile) and splits
// its place-order time into segments. Orders whose history cannot be read
// or lacks an event are left out.
func ReadPlaceSegments(ctx context.Context, tc client.Client, placements []Placement) (PlaceSegments, error) {
	var (
		mu     sync.Mutex
		spans  []placeSpan
		failed int
		wg     sync.WaitGroup
		next   = make(chan Placement)
	)
	for range 4 {
		wg.Go(func() {
			for p := range next {
				s, ok := readSpan(ctx, tc, p)
				mu.Lock()
				if ok {
					spans = append(spans, s)
				} else {
					failed++
				}
				mu.Unlock()
			}
		})
	}
	for _, p := range placements {
		if ctx.Err() != nil {
			break
		}
		next <- p
	}
	close(next)
	wg.Wait()
	if len(spans) == 0 && failed > 0 {
		return PlaceSegments{}, fmt.Errorf("no history of %d placed orders could be split", failed)
	}
	return placeSegments(spans), ctx.Err()
}

// readSpan reads one order's history up to its prepay answer.
func readSpan(ctx context.Context, tc client.Client, p Placement) (placeSpan, bool) {
	events, err := readHistory(ctx, tc, p.OrderNo, func(e *historypb.HistoryEvent) bool {
		return e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED
	})
	if err != nil {
		return placeSpan{}, false
	}
	return spanOf(p, events)
}

// rows are the segments as table rows: what, p50, p99.
func (s PlaceSegments) rows() [][3]string {
	row := func(what string, l Latency) [3]string {
		if l.N == 0 {
			return [3]string{what, "–", "–"}
		}
		return [3]string{what, fmt.Sprintf("%.1f", l.P50), fmt.Sprintf("%.1f", l.P99)}
	}
	return [][3]string{
		row("arrival → workflow started (the API's checks and writes; Temporal records the start)", s.BeforeStart),
		row("started → first workflow task picked up by the worker (Temporal's dispatch)", s.ToWorker),
		row("first task: write the order, prepay, awaiting_payment; Temporal records the task and the update's result", s.FirstTask),
		row("of which: the worker's local activities, to the prepay's result", s.LocalActivities),
		row("of which: the task's completion, recorded by Temporal with the update's result", s.RecordTask),
		row("update's result → the buyer's answer", s.Answer),
	}
}

// PlaceSegmentsText is the segments for the terminal.
func (s PlaceSegments) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "where place-order's time goes (%d orders, ms):\n", s.Orders)
	for _, r := range s.rows() {
		fmt.Fprintf(&b, "  p50 %7s  p99 %7s  %s\n", r[1], r[2], r[0])
	}
	return b.String()
}
