package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/shopflow/orderpay/internal/contract"
)

// OrderWorkflow runs one order as the design card says: check stock and
// snapshot the order → prepay with the chosen channel → await payment (a
// verified notify, a cancel, or the timeout, which queries the provider
// before closing) → check and deduct stock → grant membership and points.
// A paid order that cannot be fulfilled is refunded automatically.
func OrderWorkflow(ctx workflow.Context, in contract.OrderInput) (*contract.OrderResult, error) {
	if in.PaymentTimeout <= 0 {
		in.PaymentTimeout = contract.DefaultPaymentTimeout
	}
	if in.AutoReceiveAfter <= 0 {
		in.AutoReceiveAfter = contract.DefaultAutoReceiveAfter
	}
	o := &orderFlow{in: in, channel: in.PayChannel, state: contract.OrderState{
		OrderNo: in.OrderNo, Status: contract.StatusPending, Step: contract.StepCheckStock, PayChannel: in.PayChannel,
	}}
	if err := o.setup(ctx); err != nil {
		return nil, err
	}
	o.showDetails(ctx)
	res, err := o.run(ctx)
	if err == nil {
		err = o.deliver(ctx)
	}
	// Let in-flight updates answer before the workflow closes.
	if werr := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); werr != nil && err == nil {
		err = werr
	}
	if err == nil {
		err = o.handOverUnrecordedPayment(ctx)
	}
	if err == nil {
		err = o.handOverExtraPayments(ctx)
	}
	return res, err
}

// phase is where the order's main flow is; the updates decide by it.
type phase int

const (
	phaseCheckStock   phase = iota // checking stock and writing the snapshot
	phasePrepay                    // the first prepay is under way
	phaseAwaitPayment              // payable: notifies, re-pays and cancels are accepted
	phaseSettle                    // the payment window is over: fulfil, close, cancel or refund
	phaseDone                      // the order reached its final status
)

// orderFlow is one order's state: its phase, the step shown by the state
// query (the card's words), and what the steps learnt.
type orderFlow struct {
	in     contract.OrderInput
	phase  phase
	state  contract.OrderState
	logger log.Logger // bound to the order number

	created  *contract.CreateOrderResult
	expireAt time.Time // end of the payment window, fixed at the first prepay
	attempt  int       // payment attempt; out_trade_no = contract.TradeNo(order, attempt)
	channel  string

	// prepay is the first prepay's outcome, which the prepay update answers;
	// nil until it is known.
	prepay *prepayOutcome
	// paid is the first confirmed payment; recorded once it is written to
	// the payment and order records.
	paid     *contract.Paid
	recorded bool
	// extra are the further distinct transactions that paid the order (a
	// second attempt paid too): refunded once the order is settled.
	extra []contract.Paid

	// attemptClosed: the current attempt's provider order was closed by a
	// repay whose new prepay failed; the next repay opens a new attempt.
	attemptClosed bool
	// talking: a repay or the timeout is talking to the provider; others wait.
	talking bool
	// cancelRequested: the buyer asked to cancel; the main flow acts on it.
	cancelRequested bool
	// delivery is a completed goods order's delivery phase.
	delivery deliveryFlow
	// lean: the order runs on the single-task placement and the
	// single-transaction completion (change "lean-order").
	lean bool
}

// prepayOutcome is the answer to the first prepay (the Update-with-Start).
type prepayOutcome struct {
	res *contract.PrepayResult
	err error
}

// payable reports whether the order is in its payment window, unpaid and
// not being cancelled: it may still be re-paid or cancelled.
func (o *orderFlow) payable() bool {
	return o.phase == phaseAwaitPayment && o.paid == nil && !o.cancelRequested
}

func (o *orderFlow) setup(ctx workflow.Context) error {
	o.logger = log.With(workflow.GetLogger(ctx), "order_no", o.in.OrderNo)
	if err := workflow.SetQueryHandler(ctx, contract.QueryState, func() (contract.OrderState, error) { return o.state, nil }); err != nil {
		return fmt.Errorf("register query: %w", err)
	}
	err := workflow.SetUpdateHandler(ctx, contract.UpdatePrepay, func(ctx workflow.Context) (*contract.PrepayResult, error) {
		if err := workflow.Await(ctx, func() bool { return o.prepay != nil }); err != nil {
			return nil, err
		}
		return o.prepayAnswer()
	})
	if err != nil {
		return fmt.Errorf("register prepay update: %w", err)
	}
	err = workflow.SetUpdateHandlerWithOptions(ctx, contract.UpdateRepay, o.repay,
		workflow.UpdateHandlerOptions{Validator: o.validateRepay})
	if err != nil {
		return fmt.Errorf("register repay update: %w", err)
	}
	err = workflow.SetUpdateHandlerWithOptions(ctx, contract.UpdateCancel, o.cancel,
		workflow.UpdateHandlerOptions{Validator: o.validateCancel})
	if err != nil {
		return fmt.Errorf("register cancel update: %w", err)
	}
	err = workflow.SetUpdateHandlerWithOptions(ctx, contract.UpdateShip, o.ship,
		workflow.UpdateHandlerOptions{Validator: o.validateShip})
	if err != nil {
		return fmt.Errorf("register ship update: %w", err)
	}
	err = workflow.SetUpdateHandlerWithOptions(ctx, contract.UpdateConfirmReceipt, o.confirmReceipt,
		workflow.UpdateHandlerOptions{Validator: o.validateReceipt})
	if err != nil {
		return fmt.Errorf("register confirm_receipt update: %w", err)
	}
	refunded := workflow.GetSignalChannel(ctx, contract.SignalOrderRefunded)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			refunded.Receive(ctx, nil)
			o.delivery.refunded = true
		}
	})
	signals := workflow.GetSignalChannel(ctx, contract.SignalPaymentSucceeded)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var p contract.Paid
			signals.Receive(ctx, &p)
			o.onPaid(p)
			o.showDetails(ctx)
		}
	})
	return nil
}

// prepayAnswer is the prepay update's answer: the pay parameters and the
// order as it stands, its owner as stored, so the API answers POST /orders
// without reading the order back (a copy: the prepay's own result stays as
// recorded).
func (o *orderFlow) prepayAnswer() (*contract.PrepayResult, error) {
	if o.prepay.err != nil || o.prepay.res == nil || o.state.Status == contract.StatusPending ||
		o.created == nil || o.created.UserID == 0 {
		// Failed; or (before change lean-order) the status is written after
		// this answer; or the stored order's owner is unknown (recorded
		// before CreateOrderResult carried it): the API reads the order.
		return o.prepay.res, o.prepay.err
	}
	res := *o.prepay.res
	res.Order = &contract.OrderBrief{UserID: o.created.UserID, Status: o.state.Status, AmountCents: o.state.AmountCents}
	return &res, nil
}

// onPaid records the first confirmed payment; providers resend notifies,
// so repeats of a transaction are counted and ignored. A further distinct
// transaction is an extra payment: counted, kept aside and refunded once
// the order is settled (handOverExtraPayments).
func (o *orderFlow) onPaid(p contract.Paid) {
	if p.OutTradeNo == "" {
		p.OutTradeNo = contract.TradeNo(o.in.OrderNo, o.attempt)
	}
	if o.paid == nil {
		o.paid = &p
		o.state.TransactionID = p.TransactionID
		return
	}
	if p.TransactionID == o.paid.TransactionID {
		o.state.DuplicatePays++
		return
	}
	for _, e := range o.extra {
		if e.TransactionID == p.TransactionID {
			o.state.DuplicatePays++
			return
		}
	}
	o.extra = append(o.extra, p)
	o.state.ExtraPayments = len(o.extra)
	o.logger.Error("second transaction for a paid order: refunding it once the order is settled",
		"first", o.paid.TransactionID, "second", p.TransactionID, "out_trade_no", p.OutTradeNo)
}

// changeLeanOrder versions the order's cost: the prepay runs as a local
// activity that also writes awaiting_payment, so placing an order is one
// workflow task; the post-payment steps (record the payment, take the
// reserved stock, grant, complete, delivery awaiting shipment) are one
// local activity and one transaction; the paid status is no longer
// upserted on its own. Histories recorded before it take the old path.
// Orders started with contract.RevisionLean in their input take the lean
// path without asking: no Version marker and no TemporalChangeVersion
// upsert (one visibility write) per order.
const changeLeanOrder = "lean-order"

func (o *orderFlow) run(ctx workflow.Context) (*contract.OrderResult, error) {
	o.lean = o.in.Revision >= contract.RevisionLean ||
		workflow.GetVersion(ctx, changeLeanOrder, workflow.DefaultVersion, 1) == 1
	if err := o.checkStock(ctx); err != nil {
		return o.reject(ctx, err)
	}
	o.phase = phasePrepay
	o.expireAt = workflow.Now(ctx).Add(o.in.PaymentTimeout).Truncate(time.Second)
	o.attempt = 1
	res, err := o.prepayAttempt(ctx, o.channel, o.in.ClientIP)
	o.prepay = &prepayOutcome{res: res, err: err}
	if err != nil {
		o.phase = phaseSettle
		return o.close(ctx, "prepay_failed: "+message(err))
	}
	o.phase = phaseAwaitPayment
	if o.lean { // the prepay wrote the status
		o.state.Status = contract.StatusAwaitingPayment
		o.upsertStatus(ctx)
	} else if err := o.setStatus(ctx, contract.StatusAwaitingPayment, ""); err != nil {
		return nil, err
	}
	if err := o.awaitPayment(ctx); err != nil {
		return nil, err
	}
	o.phase = phaseSettle
	switch {
	case o.cancelRequested:
		return o.finishCancel(ctx)
	case o.paid == nil:
		return o.close(ctx, "payment_timeout")
	}
	return o.fulfil(ctx)
}

// checkStock checks stock for every line and writes the order snapshot.
func (o *orderFlow) checkStock(ctx workflow.Context) error {
	var res contract.CreateOrderResult
	err := workflow.ExecuteLocalActivity(localCtx(ctx), acts.CreateOrder, contract.CreateOrderInput{
		OrderNo: o.in.OrderNo, UserID: o.in.UserID, PayChannel: o.in.PayChannel, Address: o.in.Address, Lines: o.in.Lines,
	}).Get(ctx, &res)
	if err != nil {
		return err
	}
	o.created = &res
	o.state.AmountCents = res.AmountCents
	o.showDetails(ctx)
	return nil
}

// reject ends an order refused at the first check. A business refusal is
// an outcome (the update tells the buyer why, by kind); anything else is a
// failure.
func (o *orderFlow) reject(ctx workflow.Context, err error) (*contract.OrderResult, error) {
	o.prepay = &prepayOutcome{err: err}
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.NonRetryable() {
		return nil, err
	}
	o.state.Status, o.state.Reason = contract.StatusRejected, message(err)
	o.done(ctx)
	o.upsertStatus(ctx)
	res := o.result()
	res.Kind = kindOf(err)
	return res, nil
}

// close ends an unpaid order.
func (o *orderFlow) close(ctx workflow.Context, reason string) (*contract.OrderResult, error) {
	if err := o.setStatus(ctx, contract.StatusClosed, reason); err != nil {
		return nil, err
	}
	o.done(ctx)
	return o.result(), nil
}

// step moves the order to a step of the flow.
func (o *orderFlow) step(ctx workflow.Context, s contract.Step) {
	o.state.Step = s
	o.showDetails(ctx)
}

// done marks the order final: a waiting cancel answers now.
func (o *orderFlow) done(ctx workflow.Context) {
	o.phase, o.state.Step = phaseDone, contract.StepDone
	o.showDetails(ctx)
}

// showDetails writes the order's state as the workflow's current details,
// which the Web UI shows on the workflow's page (user metadata: no
// command, so replays are unaffected).
func (o *orderFlow) showDetails(ctx workflow.Context) {
	workflow.SetCurrentDetails(ctx, o.state.Details(o.expireAt))
}

// setStatus writes a status to the order record, then to the workflow's
// state and search attributes.
func (o *orderFlow) setStatus(ctx workflow.Context, status, reason string) error {
	err := workflow.ExecuteLocalActivity(localCtx(ctx), acts.SetOrderStatus,
		contract.Transition{OrderNo: o.in.OrderNo, Status: status, Reason: reason}).Get(ctx, nil)
	if err != nil {
		return err
	}
	o.state.Status, o.state.Reason = status, reason
	o.upsertStatus(ctx)
	return nil
}

// upsertStatus shows the order's status and channel in its search
// attributes and current details.
func (o *orderFlow) upsertStatus(ctx workflow.Context) {
	o.showDetails(ctx)
	err := workflow.UpsertTypedSearchAttributes(ctx,
		AttrOrderStatus.ValueSet(o.state.Status), AttrPayChannel.ValueSet(o.channel))
	if err != nil {
		o.logger.Warn("upsert search attributes failed", "error", err)
	}
}

func (o *orderFlow) result() *contract.OrderResult {
	return &contract.OrderResult{OrderNo: o.in.OrderNo, Status: o.state.Status, Reason: o.state.Reason}
}

// handOverUnrecordedPayment catches a payment signalled while the order was
// already being closed or cancelled (after its last look at the payment):
// the late-payment workflow records and refunds it, so it is never dropped.
func (o *orderFlow) handOverUnrecordedPayment(ctx workflow.Context) error {
	if o.paid == nil || o.recorded {
		return nil
	}
	o.logger.Warn("payment arrived while the order was closing: refunding it", "transaction_id", o.paid.TransactionID)
	cctx := abandonedChild(ctx, contract.LatePaymentWorkflowID(o.paid.OutTradeNo), o.in.OrderNo, contract.LatePaymentSummary(*o.paid))
	return workflow.ExecuteChildWorkflow(cctx, LatePaymentWorkflow, *o.paid).GetChildWorkflowExecution().Get(ctx, nil)
}
