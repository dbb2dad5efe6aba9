package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/shopflow/orderpay/internal/contract"
)

// reconcileByProvider is the GetVersion change id of the paged,
// per-provider reconciliation. Histories recorded before it (the 200 oldest
// unpaid attempts, queried one after another) replay on reconcileOldest.
const reconcileByProvider = "reconcile-by-provider"

// reconcileStartsRefunds is the GetVersion change id of a pass's last step:
// starting the workflows of refunds recorded without one
// (startUnsentRefunds). Passes recorded before it end without that step.
const reconcileStartsRefunds = "reconcile-starts-refunds"

// ReconcileWorkflow asks the providers about payments still unpaid on our
// side well after they were created: a paid one means its notify was lost.
// Closed attempts are asked about too until Grace after their payment
// window, because some providers still take money for them. The order's
// workflow gets a found payment as a signal; an order already finished
// gets the late-payment refund.
//
// One pass pages through every such payment in (created_at, id) order,
// Limit per run, continuing as new after each full page, so a run's
// history stays bounded however many payments are overdue (about 4 events
// per payment: 1,835 events for a run of 500 measured on a dev server).
// Within a page each provider's payments are asked by their own
// coroutines (Parallel queries in flight), so a provider that is down
// delays only its own: once MaxFailures queries in a row have failed
// (at most MaxFailures+Parallel-1 fail), its remaining payments are
// skipped for the rest of the pass, counted as skipped; the next pass asks
// again.
func ReconcileWorkflow(ctx workflow.Context, in contract.ReconcileInput) (*contract.ReconcileResult, error) {
	if workflow.GetVersion(ctx, reconcileByProvider, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return reconcileOldest(ctx, in)
	}
	r := newReconcilePass(ctx, in)
	var page contract.StalePage
	err := workflow.ExecuteLocalActivity(localCtx(ctx), acts.ListStalePage, r.pageInput()).Get(ctx, &page)
	if err != nil {
		return nil, err
	}
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("asking the providers about %d payments  \n%s", len(page.Payments), r.out.Details()))
	r.check(ctx, page.Payments)
	workflow.SetCurrentDetails(ctx, r.out.Details())
	if len(page.Payments) < r.in.Limit || page.Next == nil {
		r.startUnsentRefunds(ctx)
		workflow.GetLogger(ctx).Info("reconciliation pass done", "checked", r.out.Checked, "found_paid", len(r.out.FoundPaid),
			"late", len(r.out.Late), "errors", r.out.Errors, "skipped", r.out.Skipped, "runs", r.out.Runs)
		return r.out, nil
	}
	next := r.in
	next.After, next.SoFar = page.Next, r.out
	return nil, workflow.NewContinueAsNewError(ctx, ReconcileWorkflow, next)
}

// reconcilePass is one run of a reconciliation pass: its input with the
// defaults filled in and what the pass has found so far.
type reconcilePass struct {
	in     contract.ReconcileInput
	out    *contract.ReconcileResult
	logger log.Logger
}

func newReconcilePass(ctx workflow.Context, in contract.ReconcileInput) *reconcilePass {
	if in.OlderThan <= 0 {
		in.OlderThan = contract.DefaultReconcileAfter
	}
	if in.Limit <= 0 {
		in.Limit = contract.DefaultReconcilePage
	}
	if in.Grace == 0 {
		in.Grace = contract.DefaultReconcileGrace
	}
	if in.MaxFailures <= 0 {
		in.MaxFailures = contract.DefaultReconcileFailures
	}
	if in.Parallel <= 0 {
		in.Parallel = contract.DefaultReconcileParallel
	}
	if in.Now.IsZero() {
		in.Now = workflow.Now(ctx)
	}
	out := in.SoFar
	if out == nil {
		out = &contract.ReconcileResult{}
	}
	if out.Providers == nil {
		out.Providers = map[string]*contract.ProviderReconcile{}
	}
	out.Runs++
	in.SoFar = nil
	return &reconcilePass{in: in, out: out, logger: workflow.GetLogger(ctx)}
}

// startUnsentRefunds ends a pass: it starts the workflow of every refund
// an operator or a provider's notify recorded between RefundStartWindow
// and RefundStartGrace before the pass whose start Temporal never
// answered, so that none stays pending with nothing to send it. A failure
// is logged; the next pass tries again.
func (r *reconcilePass) startUnsentRefunds(ctx workflow.Context) {
	if workflow.GetVersion(ctx, reconcileStartsRefunds, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return
	}
	var started []string
	in := contract.UnsentRefundsInput{RecordedBefore: r.in.Now.Add(-contract.RefundStartGrace),
		RecordedAfter: r.in.Now.Add(-contract.RefundStartWindow), Limit: r.in.Limit}
	if err := workflow.ExecuteActivity(unsentRefundsCtx(ctx), acts.StartUnsentRefunds, in).Get(ctx, &started); err != nil {
		r.logger.Error("starting the workflows of unsent refunds failed; the next pass tries again", "error", err)
		return
	}
	if len(started) > 0 {
		r.logger.Warn("started the workflows of refunds recorded without one", "refunds", started)
	}
	r.out.RefundsStarted = append(r.out.RefundsStarted, started[:min(len(started), contract.MaxListed)]...)
}

// pageInput selects the run's page. The cut-offs are relative to the
// pass's start, so a pass that continues as new asks about a fixed set.
func (r *reconcilePass) pageInput() contract.StalePageInput {
	in := contract.StalePageInput{CreatedBefore: r.in.Now.Add(-r.in.OlderThan), After: r.in.After, Limit: r.in.Limit}
	if r.in.Grace > 0 {
		in.ClosedExpiringAfter = r.in.Now.Add(-r.in.Grace)
	}
	return in
}

// check asks each provider about its payments of the page, Parallel
// coroutines per provider, and waits for all of them.
func (r *reconcilePass) check(ctx workflow.Context, page []contract.Stale) {
	var names []string
	byProvider := map[string][]contract.Stale{}
	for _, p := range page {
		name := p.Provider
		if name == "" {
			name = p.Channel
		}
		if _, ok := byProvider[name]; !ok {
			names = append(names, name)
		}
		byProvider[name] = append(byProvider[name], p)
	}
	wg := workflow.NewWaitGroup(ctx)
	for _, name := range names {
		c := r.out.Providers[name]
		if c == nil {
			c = &contract.ProviderReconcile{}
			r.out.Providers[name] = c
		}
		q := &providerQueue{name: name, counts: c, payments: byProvider[name]}
		for i := 0; i < min(r.in.Parallel, len(q.payments)); i++ {
			wg.Add(1)
			workflow.Go(ctx, func(ctx workflow.Context) {
				defer wg.Done()
				r.checkProvider(ctx, q)
			})
		}
	}
	wg.Wait(ctx)
}

// providerQueue is one provider's payments of a page, taken in order by
// its coroutines (workflow coroutines never run at the same time).
type providerQueue struct {
	name     string
	counts   *contract.ProviderReconcile
	payments []contract.Stale
	next     int
}

// checkProvider takes the provider's next payment and asks about it, until
// none is left; once the provider's error budget is spent (MaxFailures
// failures in a row) the rest are skipped.
func (r *reconcilePass) checkProvider(ctx workflow.Context, q *providerQueue) {
	name, c := q.name, q.counts
	for q.next < len(q.payments) {
		p := q.payments[q.next]
		q.next++
		if c.Failing >= r.in.MaxFailures {
			c.Skipped++
			r.out.Skipped++
			continue
		}
		c.Checked++
		r.out.Checked++
		var t contract.Trade
		if err := workflow.ExecuteActivity(reconcileQueryCtx(ctx), acts.QueryPayment, p.OutTradeNo).Get(ctx, &t); err != nil {
			c.Errors++
			r.out.Errors++
			if isBusiness(err) {
				c.Failing = 0 // the provider answered: it refused this one
			} else {
				c.Failing++
			}
			r.logger.Warn("reconcile query failed", "provider", name, "order_no", p.OrderNo, "out_trade_no", p.OutTradeNo,
				"failing", c.Failing, "error", err)
			if c.Failing == r.in.MaxFailures {
				r.logger.Warn("provider failing: its remaining payments are skipped this pass", "provider", name)
			}
			continue
		}
		c.Failing = 0
		if !t.Paid {
			continue
		}
		paid := contract.Paid{OrderNo: p.OrderNo, OutTradeNo: p.OutTradeNo, TransactionID: t.TransactionID,
			AmountCents: t.AmountCents, PaidAt: t.PaidAt, Source: contract.SourceReconcile}
		if p.Status == contract.PaymentClosed {
			r.logger.Warn("closed payment attempt was paid", "provider", name, "order_no", p.OrderNo, "out_trade_no", p.OutTradeNo)
		}
		switch r.deliver(ctx, paid) {
		case deliveredToOrder:
			c.FoundPaid++
			r.out.FoundPaid = appendListed(r.out.FoundPaid, p.OutTradeNo)
		case deliveredLate:
			c.Late++
			r.out.Late = appendListed(r.out.Late, p.OutTradeNo)
		default:
			c.Errors++
			r.out.Errors++
		}
	}
}

type delivery int

const (
	notDelivered delivery = iota
	deliveredToOrder
	deliveredLate
)

// deliver hands a found payment to its order's workflow, or, when that
// has finished, to a LatePaymentWorkflow (one per attempt, ever: one that
// an earlier pass started already has it).
func (r *reconcilePass) deliver(ctx workflow.Context, paid contract.Paid) delivery {
	err := workflow.SignalExternalWorkflow(ctx, paid.OrderNo, "", contract.SignalPaymentSucceeded, paid).Get(ctx, nil)
	if err == nil {
		return deliveredToOrder
	}
	late := abandonedChild(ctx, contract.LatePaymentWorkflowID(paid.OutTradeNo), paid.OrderNo, contract.LatePaymentSummary(paid))
	err = workflow.ExecuteChildWorkflow(late, LatePaymentWorkflow, paid).GetChildWorkflowExecution().Get(ctx, nil)
	if err != nil && !temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		r.logger.Error("start late payment refund failed: money at risk", "order_no", paid.OrderNo, "out_trade_no", paid.OutTradeNo, "error", err)
		return notDelivered
	}
	return deliveredLate
}

// appendListed appends to a result list up to contract.MaxListed entries.
func appendListed(list []string, outTradeNo string) []string {
	if len(list) >= contract.MaxListed {
		return list
	}
	return append(list, outTradeNo)
}

// reconcileOldest is the reconciliation before reconcileByProvider: the
// Limit oldest unpaid attempts, one query after another. It stays only so
// that passes recorded by that code replay.
func reconcileOldest(ctx workflow.Context, in contract.ReconcileInput) (*contract.ReconcileResult, error) {
	if in.OlderThan <= 0 {
		in.OlderThan = 5 * time.Minute
	}
	if in.Limit <= 0 {
		in.Limit = 200
	}
	logger := workflow.GetLogger(ctx)
	var stale []contract.Stale
	err := workflow.ExecuteLocalActivity(localCtx(ctx), acts.ListStalePayments,
		contract.ListStaleInput{OlderThan: in.OlderThan, Limit: in.Limit}).Get(ctx, &stale)
	if err != nil {
		return nil, err
	}
	out := &contract.ReconcileResult{}
	for _, p := range stale {
		out.Checked++
		var t contract.Trade
		if err := workflow.ExecuteActivity(reconcileQueryCtx(ctx), acts.QueryPayment, p.OutTradeNo).Get(ctx, &t); err != nil {
			out.Errors++
			logger.Warn("reconcile query failed", "order_no", p.OrderNo, "out_trade_no", p.OutTradeNo, "error", err)
			continue
		}
		if !t.Paid {
			continue
		}
		paid := contract.Paid{OrderNo: p.OrderNo, OutTradeNo: p.OutTradeNo, TransactionID: t.TransactionID,
			AmountCents: t.AmountCents, PaidAt: t.PaidAt, Source: contract.SourceReconcile}
		err := workflow.SignalExternalWorkflow(ctx, p.OrderNo, "", contract.SignalPaymentSucceeded, paid).Get(ctx, nil)
		if err == nil {
			out.FoundPaid = append(out.FoundPaid, p.OutTradeNo)
			continue
		}
		// The order's workflow has finished (closed or cancelled): refund.
		late := abandonedChild(ctx, contract.LatePaymentWorkflowID(p.OutTradeNo), p.OrderNo, contract.LatePaymentSummary(paid))
		if err := workflow.ExecuteChildWorkflow(late, LatePaymentWorkflow, paid).GetChildWorkflowExecution().Get(ctx, nil); err != nil {
			out.Errors++
			logger.Error("start late payment refund failed: money at risk", "order_no", p.OrderNo, "out_trade_no", p.OutTradeNo, "error", err)
			continue
		}
		out.Late = append(out.Late, p.OutTradeNo)
	}
	return out, nil
}

// LatePaymentWorkflow handles money that arrived after its order was closed
// or cancelled (the buyer paid late): record it, then refund all of it.
// Nothing is shipped. A payment of an order that kept another one (an
// extra payment: the order refuses it as conflicting) is recorded as such
// and refunded through its own channel, the order left as it is. A payment that turns out to be the order's own (a
// duplicate notify that arrived just after the order finished) is left
// alone: the outcome's status is then contract.RefundNotLate and nothing
// is refunded.
func LatePaymentWorkflow(ctx workflow.Context, p contract.Paid) (*contract.RefundOutcome, error) {
	logger := workflow.GetLogger(ctx)
	workflow.SetCurrentDetails(ctx, "recording the payment")
	if err := workflow.ExecuteLocalActivity(localCtx(ctx), acts.RecordLatePayment, p).Get(ctx, nil); err != nil {
		if kindOf(err) == contract.ErrNotLate {
			workflow.SetCurrentDetails(ctx, "**not late**: the order's own payment, nothing to refund")
			logger.Info("payment is the order's own, not late: nothing to refund",
				"order_no", p.OrderNo, "transaction_id", p.TransactionID)
			return &contract.RefundOutcome{OrderNo: p.OrderNo, Status: contract.RefundNotLate}, nil
		}
		if kindOf(err) == contract.ErrConflictingPayment &&
			workflow.GetVersion(ctx, extraPaymentRefundChange, workflow.DefaultVersion, 1) == 1 {
			return refundExtraPayment(ctx, p)
		}
		return nil, err
	}
	logger.Warn("payment arrived after its order closed: refunding it", "order_no", p.OrderNo, "transaction_id", p.TransactionID)
	refundNo := contract.LateRefundNo(p.OutTradeNo)
	workflow.SetCurrentDetails(ctx, "late payment recorded: refunding it in full as refund-"+refundNo)
	var out contract.RefundOutcome
	err := workflow.ExecuteChildWorkflow(abandonedChild(ctx, contract.RefundWorkflowID(refundNo), p.OrderNo,
		contract.RefundSummary(refundNo, p.OrderNo, p.AmountCents, "paid_after_close")), RefundWorkflow, contract.RefundInput{
		RefundNo: refundNo, OrderNo: p.OrderNo, Reason: "paid_after_close",
	}).Get(ctx, &out)
	if err != nil {
		workflow.SetCurrentDetails(ctx, "**refund-"+refundNo+" failed**: "+message(err))
		return nil, err
	}
	workflow.SetCurrentDetails(ctx, "**refunded** (refund-"+refundNo+")")
	return &out, nil
}
