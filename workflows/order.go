package workflows

import (
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/shopflow/orderpay/activities"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payments"
)

// OrderWorkflow runs one order from snapshot to completion:
// create → prepay → wait for payment (or cancel, or time out → query →
// close) → take stock → fulfil → complete; a paid order that cannot be
// fulfilled is refunded automatically.
func OrderWorkflow(ctx workflow.Context, in OrderInput) (*OrderResult, error) {
	if in.PaymentTimeout <= 0 {
		in.PaymentTimeout = DefaultPaymentTimeout
	}
	o := &orderFlow{in: in, channel: in.PayChannel, state: OrderState{
		OrderNo: in.OrderNo, Status: orders.StatusPending, Step: "create", PayChannel: in.PayChannel,
	}}
	if err := o.setup(ctx); err != nil {
		return nil, err
	}
	res, err := o.run(ctx)
	// Let in-flight updates answer before the workflow closes.
	if werr := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); werr != nil && err == nil {
		err = werr
	}
	if err == nil {
		err = o.handOverUnrecordedPayment(ctx)
	}
	return res, err
}

// handOverUnrecordedPayment catches a payment signalled while the order was
// already being closed or cancelled (after its last look at the payment):
// the late-payment workflow records and refunds it, so it is never dropped.
func (o *orderFlow) handOverUnrecordedPayment(ctx workflow.Context) error {
	if o.paid == nil || o.paymentRecorded {
		return nil
	}
	o.logger.Info("payment arrived while the order was closing: refunding it", "order_no", o.in.OrderNo, "transaction_id", o.paid.TransactionID)
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            LatePaymentWorkflowID(o.paid.OutTradeNo),
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	})
	return workflow.ExecuteChildWorkflow(cctx, LatePaymentWorkflow, *o.paid).GetChildWorkflowExecution().Get(ctx, nil)
}

type orderFlow struct {
	in     OrderInput
	state  OrderState
	logger interface{ Info(string, ...interface{}) }

	created  *activities.CreateOrderResult
	expireAt time.Time // end of the payment window, fixed at the first prepay
	attempt  int       // payment attempt; out_trade_no = payments.TradeNo(order, attempt)
	channel  string
	// attemptClosed: the current attempt's provider order was closed by a
	// repay whose new prepay failed; the next repay opens a new attempt.
	attemptClosed bool

	prepayDone bool
	prepay     *payments.PrepayResult
	prepayErr  error
	paid       *payments.Paid
	// paymentRecorded: o.paid was written to the payment and order records.
	paymentRecorded bool

	busy            bool // a repay or cancel is talking to the provider
	cancelRequested bool
	finished        bool // the main flow has left the payment phase
}

func (o *orderFlow) setup(ctx workflow.Context) error {
	o.logger = workflow.GetLogger(ctx)
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (OrderState, error) { return o.state, nil }); err != nil {
		return fmt.Errorf("register query: %w", err)
	}
	err := workflow.SetUpdateHandler(ctx, UpdatePrepay, func(ctx workflow.Context) (*payments.PrepayResult, error) {
		if err := workflow.Await(ctx, func() bool { return o.prepayDone }); err != nil {
			return nil, err
		}
		return o.prepay, o.prepayErr
	})
	if err != nil {
		return fmt.Errorf("register prepay update: %w", err)
	}
	err = workflow.SetUpdateHandlerWithOptions(ctx, UpdateRepay, o.repay,
		workflow.UpdateHandlerOptions{Validator: o.validateRepay})
	if err != nil {
		return fmt.Errorf("register repay update: %w", err)
	}
	err = workflow.SetUpdateHandlerWithOptions(ctx, UpdateCancel, o.cancel,
		workflow.UpdateHandlerOptions{Validator: o.validateCancel})
	if err != nil {
		return fmt.Errorf("register cancel update: %w", err)
	}
	signals := workflow.GetSignalChannel(ctx, SignalPaymentSucceeded)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var p payments.Paid
			signals.Receive(ctx, &p)
			o.onPaid(p)
		}
	})
	return nil
}

// onPaid records the first confirmed payment; providers resend notifies,
// so repeats of the same transaction are counted and ignored.
func (o *orderFlow) onPaid(p payments.Paid) {
	if p.OutTradeNo == "" {
		p.OutTradeNo = payments.TradeNo(o.in.OrderNo, o.attempt)
	}
	if o.paid == nil {
		o.paid = &p
		o.state.TransactionID = p.TransactionID
		return
	}
	o.state.DuplicatePays++
	if p.TransactionID != o.paid.TransactionID {
		o.logger.Info("second transaction for a paid order", "order_no", o.in.OrderNo,
			"first", o.paid.TransactionID, "second", p.TransactionID)
	}
}

func (o *orderFlow) run(ctx workflow.Context) (*OrderResult, error) {
	if err := o.create(ctx); err != nil {
		return o.reject(ctx, err)
	}
	o.expireAt = workflow.Now(ctx).Add(o.in.PaymentTimeout).Truncate(time.Second)
	o.attempt = 1
	res, err := o.prepayAttempt(ctx, o.channel, o.in.ClientIP)
	o.prepay, o.prepayErr, o.prepayDone = res, err, true
	if err != nil {
		return o.close(ctx, "prepay_failed: "+message(err))
	}
	if err := o.setStatus(ctx, orders.StatusAwaitingPayment, ""); err != nil {
		return nil, err
	}
	if err := o.awaitPayment(ctx); err != nil {
		return nil, err
	}
	o.finished = true
	switch {
	case o.cancelRequested:
		return o.finishCancel(ctx)
	case o.paid == nil:
		return o.close(ctx, "payment_timeout")
	}
	return o.fulfil(ctx)
}

func (o *orderFlow) create(ctx workflow.Context) error {
	var res activities.CreateOrderResult
	err := workflow.ExecuteLocalActivity(localCtx(ctx), activities.CreateOrderName, activities.CreateOrderInput{
		OrderNo: o.in.OrderNo, UserID: o.in.UserID, PayChannel: o.in.PayChannel, Address: o.in.Address, Lines: o.in.Lines,
	}).Get(ctx, &res)
	if err != nil {
		return err
	}
	o.created = &res
	o.state.AmountCents = res.AmountCents
	return nil
}

// reject ends an order refused at the first check. A business refusal is
// an outcome (the update tells the buyer why); anything else is a failure.
func (o *orderFlow) reject(ctx workflow.Context, err error) (*OrderResult, error) {
	o.prepayErr, o.prepayDone = err, true
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.NonRetryable() {
		return nil, err
	}
	o.state.Status, o.state.Step, o.state.Reason = StatusRejected, "done", message(err)
	o.upsertStatus(ctx)
	return o.result(), nil
}

func (o *orderFlow) close(ctx workflow.Context, reason string) (*OrderResult, error) {
	if err := o.setStatus(ctx, orders.StatusClosed, reason); err != nil {
		return nil, err
	}
	o.state.Step = "done"
	return o.result(), nil
}

// setStatus writes a status to the order record, then to the workflow's
// state and search attributes.
func (o *orderFlow) setStatus(ctx workflow.Context, status, reason string) error {
	err := workflow.ExecuteLocalActivity(localCtx(ctx), activities.SetOrderStatusName,
		orders.Transition{OrderNo: o.in.OrderNo, Status: status, Reason: reason}).Get(ctx, nil)
	if err != nil {
		return err
	}
	o.state.Status, o.state.Reason = status, reason
	o.upsertStatus(ctx)
	return nil
}

func (o *orderFlow) upsertStatus(ctx workflow.Context) {
	err := workflow.UpsertTypedSearchAttributes(ctx,
		AttrOrderStatus.ValueSet(o.state.Status), AttrPayChannel.ValueSet(o.channel))
	if err != nil {
		o.logger.Info("upsert search attributes failed", "order_no", o.in.OrderNo, "error", err)
	}
}

func (o *orderFlow) result() *OrderResult {
	return &OrderResult{OrderNo: o.in.OrderNo, Status: o.state.Status, Reason: o.state.Reason}
}
