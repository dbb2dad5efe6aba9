package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/shopflow/orderpay/activities"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payments"
	"github.com/shopflow/orderpay/internal/rewards"
)

// OrderWorkflow runs one order from snapshot to completion:
// create → prepay → wait for payment (or time out, query, close) →
// deduct stock → grant points and membership → complete.
func OrderWorkflow(ctx workflow.Context, in OrderInput) (*OrderResult, error) {
	if in.PaymentTimeout <= 0 {
		in.PaymentTimeout = DefaultPaymentTimeout
	}
	o := &orderFlow{in: in, state: OrderState{OrderNo: in.OrderNo, Status: orders.StatusPending, Step: "create"}}
	if err := o.setup(ctx); err != nil {
		return nil, err
	}
	res, err := o.run(ctx)
	// Let an in-flight prepay update answer before the workflow closes.
	if werr := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); werr != nil && err == nil {
		err = werr
	}
	return res, err
}

type orderFlow struct {
	in     OrderInput
	state  OrderState
	logger interface{ Info(string, ...interface{}) }

	prepayDone bool
	prepay     *payments.PrepayResult
	prepayErr  error
	paid       *payments.Paid
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
		return fmt.Errorf("register update: %w", err)
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
	if o.paid == nil {
		o.paid = &p
		return
	}
	o.state.DuplicatePays++
	if p.TransactionID != o.paid.TransactionID {
		o.logger.Info("second transaction for a paid order", "order_no", o.in.OrderNo,
			"first", o.paid.TransactionID, "second", p.TransactionID)
	}
}

func (o *orderFlow) run(ctx workflow.Context) (*OrderResult, error) {
	created, err := o.create(ctx)
	if err != nil {
		return o.reject(ctx, err)
	}
	o.state.AmountCents = created.AmountCents

	if err := o.doPrepay(ctx, created); err != nil {
		return o.close(ctx, "prepay_failed: "+message(err))
	}
	if err := o.awaitPayment(ctx); err != nil {
		return nil, err
	}
	if o.paid == nil {
		return o.close(ctx, "payment_timeout")
	}
	return o.fulfil(ctx, created)
}

func (o *orderFlow) create(ctx workflow.Context) (*activities.CreateOrderResult, error) {
	var res activities.CreateOrderResult
	err := workflow.ExecuteLocalActivity(localCtx(ctx), activities.CreateOrderName, activities.CreateOrderInput{
		OrderNo: o.in.OrderNo, UserID: o.in.UserID, PayChannel: o.in.PayChannel, Address: o.in.Address, Lines: o.in.Lines,
	}).Get(ctx, &res)
	return &res, err
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

func (o *orderFlow) doPrepay(ctx workflow.Context, created *activities.CreateOrderResult) error {
	o.state.Step = "prepay"
	expireAt := workflow.Now(ctx).Add(o.in.PaymentTimeout).Truncate(time.Second)
	var res payments.PrepayResult
	err := workflow.ExecuteActivity(prepayCtx(ctx), (*activities.Activities).Prepay, activities.PrepayInput{
		UserID: o.in.UserID,
		Request: payments.PrepayRequest{
			OrderNo: o.in.OrderNo, Channel: o.in.PayChannel, Description: created.Description,
			AmountCents: created.AmountCents, OpenID: o.in.OpenID, ExpireAt: expireAt,
		},
	}).Get(ctx, &res)
	if err != nil {
		o.prepayErr, o.prepayDone = err, true
		return err
	}
	if err := o.setStatus(ctx, orders.StatusAwaitingPayment, ""); err != nil {
		o.prepayErr, o.prepayDone = err, true
		return err
	}
	o.state.Pay = &res
	o.prepay, o.prepayDone = &res, true
	return nil
}

// awaitPayment waits for a verified notify or the payment timeout. On
// timeout it asks the provider before giving up: a payment whose notify was
// lost is still a payment. Only then is the provider order closed.
func (o *orderFlow) awaitPayment(ctx workflow.Context) error {
	o.state.Step = "await_payment"
	arrived, err := workflow.AwaitWithTimeout(ctx, o.in.PaymentTimeout, func() bool { return o.paid != nil })
	if err != nil || arrived {
		return err
	}
	o.state.Step = "query_provider"
	if found, err := o.queryProvider(ctx); err != nil || found {
		return err
	}
	o.state.Step = "close_provider_order"
	err = workflow.ExecuteActivity(providerCtx(ctx), (*activities.Activities).ClosePayment, o.in.OrderNo).Get(ctx, nil)
	if isType(err, activities.ErrTypeAlreadyPaid) {
		// Paid between our query and the close: the provider refuses to close it.
		_, err = o.queryProvider(ctx)
		return err
	}
	if err != nil {
		// The provider order also expires by itself (time_expire); record the
		// close on our side rather than keep an abandoned order open.
		o.logger.Info("closing provider order failed", "order_no", o.in.OrderNo, "error", err)
	}
	return nil
}

// queryProvider asks the provider for the order and, if it was paid,
// records the payment as if its notify had arrived.
func (o *orderFlow) queryProvider(ctx workflow.Context) (bool, error) {
	var t payments.Trade
	if err := workflow.ExecuteActivity(providerCtx(ctx), (*activities.Activities).QueryPayment, o.in.OrderNo).Get(ctx, &t); err != nil {
		return false, err
	}
	if o.paid == nil && t.Paid {
		o.onPaid(payments.Paid{OrderNo: o.in.OrderNo, TransactionID: t.TransactionID, AmountCents: t.AmountCents, PaidAt: t.PaidAt, Source: "query"})
	}
	return o.paid != nil, nil
}

func (o *orderFlow) close(ctx workflow.Context, reason string) (*OrderResult, error) {
	if err := o.setStatus(ctx, orders.StatusClosed, reason); err != nil {
		return nil, err
	}
	o.state.Step = "done"
	return o.result(), nil
}

// fulfil runs everything after the money arrived: record it, take stock,
// grant rewards, complete. A paid order that cannot be fulfilled ends
// paid_unfulfilled, visible for the refund.
func (o *orderFlow) fulfil(ctx workflow.Context, created *activities.CreateOrderResult) (*OrderResult, error) {
	o.state.Step = "record_payment"
	o.state.TransactionID = o.paid.TransactionID
	if err := workflow.ExecuteLocalActivity(localCtx(ctx), activities.RecordPaymentName, *o.paid).Get(ctx, nil); err != nil {
		return nil, err
	}
	o.state.Status = orders.StatusPaid
	o.upsertStatus(ctx)
	if o.paid.AmountCents != created.AmountCents {
		return o.unfulfilled(ctx, fmt.Sprintf("amount_mismatch: paid %d, due %d", o.paid.AmountCents, created.AmountCents))
	}

	o.state.Step = "deduct_stock"
	err := workflow.ExecuteLocalActivity(localCtx(ctx), activities.DeductStockName,
		activities.DeductStockInput{OrderNo: o.in.OrderNo, Lines: o.in.Lines}).Get(ctx, nil)
	if isType(err, activities.ErrTypeOutOfStock) {
		return o.unfulfilled(ctx, "out_of_stock: "+message(err))
	}
	if err != nil {
		return nil, err
	}

	o.state.Step = "grant_rewards"
	var granted rewards.Granted
	err = workflow.ExecuteLocalActivity(localCtx(ctx), activities.GrantRewardsName, rewards.Grant{
		OrderNo: o.in.OrderNo, UserID: o.in.UserID, AmountCents: created.AmountCents,
		PointsPerYuan: o.in.PointsPerYuan, MembershipDays: created.MembershipDays,
	}).Get(ctx, &granted)
	if err != nil {
		return nil, err
	}

	o.state.Step = "complete"
	err = workflow.ExecuteLocalActivity(localCtx(ctx), activities.SetOrderStatusName, orders.Transition{
		OrderNo: o.in.OrderNo, Status: orders.StatusCompleted, Points: granted.Points,
	}).Get(ctx, nil)
	if err != nil {
		return nil, err
	}
	o.state.Status, o.state.Step = orders.StatusCompleted, "done"
	o.upsertStatus(ctx)
	res := o.result()
	res.Points = granted.Points
	return res, nil
}

func (o *orderFlow) unfulfilled(ctx workflow.Context, reason string) (*OrderResult, error) {
	if err := o.setStatus(ctx, orders.StatusPaidUnfulfilled, reason); err != nil {
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
	if err := workflow.UpsertTypedSearchAttributes(ctx, AttrOrderStatus.ValueSet(o.state.Status)); err != nil {
		o.logger.Info("upsert search attribute failed", "order_no", o.in.OrderNo, "error", err)
	}
}

func (o *orderFlow) result() *OrderResult {
	return &OrderResult{OrderNo: o.in.OrderNo, Status: o.state.Status, Reason: o.state.Reason}
}
