package workflows

import (
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/shopflow/orderpay/activities"
	"github.com/shopflow/orderpay/internal/payments"
)

// prepayAttempt asks the channel's provider for the current attempt's pay
// parameters. Channels that settle at once (wallet, free) count as paid.
func (o *orderFlow) prepayAttempt(ctx workflow.Context, channel, clientIP string) (*payments.PrepayResult, error) {
	o.state.Step = "prepay"
	tradeNo := payments.TradeNo(o.in.OrderNo, o.attempt)
	var res payments.PrepayResult
	err := workflow.ExecuteActivity(prepayCtx(ctx), (*activities.Activities).Prepay, activities.PrepayInput{
		UserID: o.in.UserID,
		Request: payments.PrepayRequest{
			OrderNo: o.in.OrderNo, OutTradeNo: tradeNo, UserID: o.in.UserID, Channel: channel,
			Description: o.created.Description, AmountCents: o.created.AmountCents,
			OpenID: o.in.OpenID, ClientIP: clientIP, ExpireAt: o.expireAt,
		},
	}).Get(ctx, &res)
	if err != nil {
		return nil, err
	}
	o.channel, o.state.PayChannel, o.state.Attempt, o.state.Pay = channel, channel, o.attempt, &res
	if res.Paid {
		o.onPaid(payments.Paid{OrderNo: o.in.OrderNo, OutTradeNo: tradeNo, TransactionID: res.TransactionID,
			AmountCents: o.created.AmountCents, PaidAt: workflow.Now(ctx), Source: "instant"})
	}
	return &res, nil
}

// awaitPayment waits for a verified notify, a cancel or the end of the
// payment window. On timeout it asks the provider before giving up: a
// payment whose notify was lost is still a payment. Only then is the
// provider order closed.
func (o *orderFlow) awaitPayment(ctx workflow.Context) error {
	for {
		o.state.Step = "await_payment"
		left := o.expireAt.Sub(workflow.Now(ctx))
		if left > 0 {
			_, err := workflow.AwaitWithTimeout(ctx, left, func() bool { return o.paid != nil || o.cancelRequested })
			if err != nil {
				return err
			}
		}
		// A repay or cancel may be talking to the provider; let it finish.
		if err := workflow.Await(ctx, func() bool { return !o.busy }); err != nil {
			return err
		}
		if o.paid != nil || o.cancelRequested {
			return nil
		}
		if workflow.Now(ctx).Before(o.expireAt) {
			continue
		}
		o.busy = true // no repay from here on
		err := o.settleUnpaid(ctx)
		o.busy = false
		return err
	}
}

// settleUnpaid queries and then closes the current attempt at its provider.
func (o *orderFlow) settleUnpaid(ctx workflow.Context) error {
	o.state.Step = "query_provider"
	if found, err := o.queryProvider(ctx); err != nil || found {
		return err
	}
	o.state.Step = "close_provider_order"
	if _, err := o.closeAttempt(ctx); err != nil {
		// The provider order also expires by itself (time_expire); record the
		// close on our side rather than keep an abandoned order open.
		o.logger.Info("closing provider order failed", "order_no", o.in.OrderNo, "error", err)
	}
	return nil
}

// closeAttempt closes the current provider order. If the provider says it
// was paid meanwhile, the payment is queried and recorded instead.
func (o *orderFlow) closeAttempt(ctx workflow.Context) (paid bool, err error) {
	tradeNo := payments.TradeNo(o.in.OrderNo, o.attempt)
	err = workflow.ExecuteActivity(providerCtx(ctx), (*activities.Activities).ClosePayment, tradeNo).Get(ctx, nil)
	if isType(err, activities.ErrTypeAlreadyPaid) {
		return o.queryProvider(ctx)
	}
	return o.paid != nil, err
}

// queryProvider asks the provider about the current attempt and, if it was
// paid, records the payment as if its notify had arrived.
func (o *orderFlow) queryProvider(ctx workflow.Context) (bool, error) {
	tradeNo := payments.TradeNo(o.in.OrderNo, o.attempt)
	var t payments.Trade
	if err := workflow.ExecuteActivity(providerCtx(ctx), (*activities.Activities).QueryPayment, tradeNo).Get(ctx, &t); err != nil {
		return false, err
	}
	if o.paid == nil && t.Paid {
		o.onPaid(payments.Paid{OrderNo: o.in.OrderNo, OutTradeNo: tradeNo, TransactionID: t.TransactionID,
			AmountCents: t.AmountCents, PaidAt: t.PaidAt, Source: "query"})
	}
	return o.paid != nil, nil
}

// validateRepay admits a repay only while the order is waiting for payment.
func (o *orderFlow) validateRepay(ctx workflow.Context, req RepayRequest) error {
	if o.paid != nil || o.cancelRequested || o.finished || !o.prepayDone || o.prepayErr != nil ||
		!workflow.Now(ctx).Before(o.expireAt) {
		return temporal.NewApplicationError("order "+o.in.OrderNo+" is "+o.state.Status+" and can no longer be paid", ErrTypeNotPayable)
	}
	if req.PayChannel == "" {
		return temporal.NewApplicationError("pay_channel is required", ErrTypeNotPayable)
	}
	return nil
}

// repay returns the current parameters for the same channel (no provider
// call) or closes the current provider order and prepays through the new
// channel, within the original payment window.
func (o *orderFlow) repay(ctx workflow.Context, req RepayRequest) (*payments.PrepayResult, error) {
	if err := workflow.Await(ctx, func() bool { return !o.busy }); err != nil {
		return nil, err
	}
	if err := o.validateRepay(ctx, req); err != nil {
		return nil, err
	}
	if req.PayChannel == o.channel && !o.attemptClosed {
		return o.state.Pay, nil
	}
	o.busy = true
	defer func() { o.busy = false }()
	if !o.attemptClosed {
		paid, err := o.closeAttempt(ctx)
		if err != nil {
			return nil, err
		}
		if paid {
			return nil, temporal.NewApplicationError("order "+o.in.OrderNo+" was paid meanwhile", ErrTypeNotPayable)
		}
		o.attemptClosed = true
	}
	o.attempt++
	res, err := o.prepayAttempt(ctx, req.PayChannel, req.ClientIP)
	o.state.Step = "await_payment"
	if err != nil {
		// No provider order was opened for this attempt, so the payment
		// service does not know it: go back to the (closed) previous one,
		// which the timeout can query and close.
		o.attempt--
		return nil, err
	}
	o.attemptClosed = false
	o.upsertStatus(ctx)
	return res, nil
}

// validateCancel admits a cancel only before payment.
func (o *orderFlow) validateCancel(ctx workflow.Context) error {
	if o.paid != nil || o.finished || o.cancelRequested || !o.prepayDone || o.prepayErr != nil {
		return temporal.NewApplicationError("order "+o.in.OrderNo+" is "+o.state.Status+" and can no longer be cancelled", ErrTypeNotCancellable)
	}
	return nil
}

// cancel asks the main flow to cancel and answers with the outcome.
func (o *orderFlow) cancel(ctx workflow.Context) (*CancelResult, error) {
	o.cancelRequested = true
	if err := workflow.Await(ctx, func() bool { return o.state.Step == "done" }); err != nil {
		return nil, err
	}
	return &CancelResult{Status: o.state.Status, Reason: o.state.Reason}, nil
}
