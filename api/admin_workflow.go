package api

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/orders"
)

// Bounds on what the operators' views ask Temporal: a worker that does not
// answer leaves the step blank, never the page.
const (
	stateQueryTimeout = 3 * time.Second
	stepQueries       = 8               // state queries of one order list at once
	stepsBudget       = 5 * time.Second // all the steps of one order list
)

// ConsoleSettings are what the operator console links to.
type ConsoleSettings struct {
	// TemporalUIURL is the Temporal Web UI's base URL (TEMPORAL_UI_URL);
	// empty: the console shows no link.
	TemporalUIURL string
	// Namespace is the workflows' Temporal namespace.
	Namespace string
}

// WorkflowView is where an order's workflow stands, from its state query:
// the `workflow` object of the operators' order detail.
type WorkflowView struct {
	ID     string        `json:"id"`
	Step   contract.Step `json:"step,omitempty"`
	Status string        `json:"status,omitempty"` // the order's status as the workflow knows it
	Reason string        `json:"reason,omitempty"`
	// UIURL is the workflow's page in the Temporal Web UI ("" when
	// TEMPORAL_UI_URL is not set).
	UIURL string `json:"ui_url,omitempty"`
	// Error says why the state is missing (worker unavailable, say); the
	// rest of the detail comes from the database and stands.
	Error string `json:"error,omitempty"`
}

// workflowUIURL is the order workflow's page in the Temporal Web UI.
func (s *Server) workflowUIURL(workflowID string) string {
	if s.Console.TemporalUIURL == "" {
		return ""
	}
	ns := s.Console.Namespace
	if ns == "" {
		ns = "default"
	}
	return s.Console.TemporalUIURL + "/namespaces/" + url.PathEscape(ns) + "/workflows/" + url.PathEscape(workflowID)
}

// orderState asks an order's workflow for its state (a closed workflow is
// replayed by a worker to answer).
func (s *Server) orderState(ctx context.Context, orderNo string) (*contract.OrderState, error) {
	ctx, cancel := context.WithTimeout(ctx, stateQueryTimeout)
	defer cancel()
	v, err := s.Temporal.QueryWorkflow(ctx, orderNo, "", contract.QueryState)
	if err != nil {
		return nil, fmt.Errorf("query the state of order %s: %w", orderNo, err)
	}
	var st contract.OrderState
	if err := v.Get(&st); err != nil {
		return nil, fmt.Errorf("decode the state of order %s: %w", orderNo, err)
	}
	return &st, nil
}

// workflowView is the order detail's `workflow` object.
func (s *Server) workflowView(ctx context.Context, orderNo string) *WorkflowView {
	w := &WorkflowView{ID: orderNo, UIURL: s.workflowUIURL(orderNo)}
	st, err := s.orderState(ctx, orderNo)
	if err != nil {
		s.Logger.Warn("order detail without its workflow state", "order_no", orderNo, "error", err)
		w.Error = "the workflow's state is not available now"
		return w
	}
	w.Step, w.Status, w.Reason = st.Step, st.Status, st.Reason
	return w
}

// finished are the statuses after which an order's workflow has ended.
// Completed and partially refunded orders may still run (a goods order
// waits for its delivery), so their workflows are looked up first.
var finished = map[string]bool{
	orders.StatusClosed: true, orders.StatusCancelled: true, orders.StatusRefunded: true,
}

// mayRun are the statuses whose workflow may or may not still run.
var mayRun = map[string]bool{orders.StatusCompleted: true, orders.StatusPartiallyRefunded: true}

// orderSteps is each listed order's workflow step. Finished orders are
// `done` without asking anyone; completed ones are looked up in Temporal's
// visibility (one call) and asked only when still running; the rest are
// asked at most stepQueries at a time, within stepsBudget in all. An order
// whose workflow does not answer in time has no step.
func (s *Server) orderSteps(ctx context.Context, list []OrderSummary) map[string]contract.Step {
	ctx, cancel := context.WithTimeout(ctx, stepsBudget)
	defer cancel()
	steps := make(map[string]contract.Step, len(list))
	var ask, maybe []string
	for _, o := range list {
		switch {
		case finished[o.Status]:
			steps[o.OrderNo] = contract.StepDone
		case mayRun[o.Status]:
			maybe = append(maybe, o.OrderNo)
		default:
			ask = append(ask, o.OrderNo)
		}
	}
	if len(maybe) > 0 {
		running, err := s.runningOrders(ctx, maybe)
		for _, no := range maybe {
			switch {
			case err != nil:
			case running[no]:
				ask = append(ask, no)
			default:
				steps[no] = contract.StepDone
			}
		}
		if err != nil {
			s.Logger.Warn("order list without the steps of completed orders", "error", err)
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, stepQueries)
	for _, no := range ask {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			st, err := s.orderState(ctx, no)
			if err != nil {
				return
			}
			mu.Lock()
			steps[no] = st.Step
			mu.Unlock()
		}()
	}
	wg.Wait()
	return steps
}

// runningOrders tells which of these orders' workflows still run, by one
// visibility query on the OrderNo search attribute.
func (s *Server) runningOrders(ctx context.Context, orderNos []string) (map[string]bool, error) {
	quoted := make([]string, 0, len(orderNos))
	for _, no := range orderNos {
		if strings.ContainsAny(no, `'"\`) {
			continue // never the case for an order number; never in a query
		}
		quoted = append(quoted, "'"+no+"'")
	}
	query := fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running' AND %s IN (%s)",
		contract.OrderWorkflowType, contract.AttrOrderNo, strings.Join(quoted, ","))
	ctx, cancel := context.WithTimeout(ctx, stateQueryTimeout)
	defer cancel()
	running := map[string]bool{}
	req := &workflowservice.ListWorkflowExecutionsRequest{Query: query, PageSize: int32(len(quoted))}
	for {
		res, err := s.Temporal.ListWorkflow(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("list running order workflows: %w", err)
		}
		for _, e := range res.GetExecutions() {
			running[e.GetExecution().GetWorkflowId()] = true
		}
		if len(res.GetNextPageToken()) == 0 {
			return running, nil
		}
		req.NextPageToken = res.GetNextPageToken()
	}
}
