package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/shopflow/orderpay/internal/contract"
)

// prepayAttempt asks the channel's provider for the current attempt's pay
// parameters. Channels that settle at once (wallet, free) count as paid.
func (o *orderFlow) prepayAttempt(ctx workflow.Context, channel, clientIP string) (*contract.PrepayResult, error) {
	o.step(ctx, contract.StepPrepay)
	tradeNo := contract.TradeNo(o.in.OrderNo, o.attempt)
	in := contract.PrepayInput{
		UserID: o.in.UserID,
		Request: contract.PrepayRequest{
			OrderNo: o.in.OrderNo, OutTradeNo: tradeNo, UserID: o.in.UserID, Channel: channel,
			Description: o.created.Description, AmountCents: o.created.AmountCents,
			OpenID: o.in.OpenID, ClientIP: clientIP, ExpireAt: o.expireAt,
		},
	}
	var res contract.PrepayResult
	var err error
	if o.lean {
		// A local activity: the buyer's request is answered in the workflow
		// task that started the order (or ran the repay).
		in.AwaitPayment = o.attempt == 1
		err = workflow.ExecuteLocalActivity(prepayLocalCtx(ctx), acts.Prepay, in).Get(ctx, &res)
	} else {
		err = workflow.ExecuteActivity(prepayCtx(ctx), acts.Prepay, in).Get(ctx, &res)
	}
	if err != nil {
		return nil, err
	}
	o.channel, o.state.PayChannel, o.state.Attempt, o.state.Pay = channel, channel, o.attempt, &res
	if res.Paid {
		o.onPaid(contract.Paid{OrderNo: o.in.OrderNo, OutTradeNo: tradeNo, TransactionID: res.TransactionID,
			AmountCents: o.created.AmountCents, PaidAt: workflow.Now(ctx), Source: contract.SourceInstant})
	}
	return &res, nil
}

// awaitPayment waits for a verified notify, a cancel or the end of the
// payment window. On timeout it asks the provider before giving up: a
// payment whose notify was lost is still a payment. Only then is the
// provider order closed.
func (o *orderFlow) awaitPayment(ctx workflow.Context) error {
	for {
		o.step(ctx, contract.StepAwaitPayment)
		left := o.expireAt.Sub(workflow.Now(ctx))
		if left > 0 {
			settled := func() bool { return o.paid != nil || o.cancelRequested }
			var err error
			if o.lean {
				_, err = awaitCancellingTimer(ctx, left, settled)
			} else {
				_, err = workflow.AwaitWithTimeout(ctx, left, settled)
			}
			if err != nil {
				return err
			}
		}
		// A repay or cancel may be talking to the provider; let it finish.
		if err := workflow.Await(ctx, func() bool { return !o.talking }); err != nil {
			return err
		}
		if o.paid != nil || o.cancelRequested {
			return nil
		}
		if workflow.Now(ctx).Before(o.expireAt) {
			continue
		}
		o.talking = true // no repay from here on
		err := o.settleUnpaid(ctx)
		o.talking = false
		return err
	}
}

// awaitCancellingTimer is workflow.AwaitWithTimeout whose timer is
// cancelled once the condition holds (AwaitWithTimeout leaves it running):
// a paid goods order, which waits days for its shipment, is not woken
// again by the end of its payment window. It reports whether the
// condition holds.
func awaitCancellingTimer(ctx workflow.Context, d time.Duration, cond func() bool) (bool, error) {
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	timer := workflow.NewTimer(tctx, d)
	if err := workflow.Await(ctx, func() bool { return cond() || timer.IsReady() }); err != nil {
		return false, err
	}
	return cond(), nil
}

// settleUnpaid queries and then closes the current attempt at its provider.
func (o *orderFlow) settleUnpaid(ctx workflow.Context) error {
	o.step(ctx, contract.StepQueryProvider)
	if found, err := o.queryProvider(ctx); err != nil || found {
		return err
	}
	o.step(ctx, contract.StepCloseProviderOrder)
	if _, err := o.closeAttempt(ctx); err != nil {
		// The provider order also expires by itself (time_expire); record the
		// close on our side rather than keep an abandoned order open.
		o.logger.Warn("closing provider order failed", "error", err)
	}
	return nil
}

// closeAttempt closes the current provider order. If the provider says it
// was paid meanwhile, the payment is queried and recorded instead.
func (o *orderFlow) closeAttempt(ctx workflow.Context) (paid bool, err error) {
	tradeNo := contract.TradeNo(o.in.OrderNo, o.attempt)
	err = workflow.ExecuteActivity(providerCtx(ctx), acts.ClosePayment, tradeNo).Get(ctx, nil)
	if kindOf(err) == contract.ErrAlreadyPaid {
		return o.queryProvider(ctx)
	}
	return o.paid != nil, err
}

// queryProvider asks the provider about the current attempt and, if it was
// paid, records the payment as if its notify had arrived.
func (o *orderFlow) queryProvider(ctx workflow.Context) (bool, error) {
	tradeNo := contract.TradeNo(o.in.OrderNo, o.attempt)
	var t contract.Trade
	if err := workflow.ExecuteActivity(providerCtx(ctx), acts.QueryPayment, tradeNo).Get(ctx, &t); err != nil {
		return false, err
	}
	if o.paid == nil && t.Paid {
		o.onPaid(contract.Paid{OrderNo: o.in.OrderNo, OutTradeNo: tradeNo, TransactionID: t.TransactionID,
			AmountCents: t.AmountCents, PaidAt: t.PaidAt, Source: contract.SourceQuery})
	}
	return o.paid != nil, nil
}

// notPayable is the repay refusal.
func (o *orderFlow) notPayable(why string) error {
	return temporal.NewApplicationError("order "+o.in.OrderNo+" "+why, string(contract.ErrNotPayable))
}

// validateRepay admits a repay only while the order is waiting for payment.
func (o *orderFlow) validateRepay(ctx workflow.Context, req contract.RepayRequest) error {
	if !o.payable() || !workflow.Now(ctx).Before(o.expireAt) {
		return o.notPayable("is " + o.state.Status + " and can no longer be paid")
	}
	if req.PayChannel == "" {
		return temporal.NewApplicationError("pay_channel is required", string(contract.ErrNotPayable))
	}
	return nil
}

// repay returns the current parameters for the same channel (no provider
// call) or closes the current provider order and prepays through the new
// channel, within the original payment window.
func (o *orderFlow) repay(ctx workflow.Context, req contract.RepayRequest) (*contract.PrepayResult, error) {
	if err := workflow.Await(ctx, func() bool { return !o.talking }); err != nil {
		return nil, err
	}
	if err := o.validateRepay(ctx, req); err != nil {
		return nil, err
	}
	if req.PayChannel == o.channel && !o.attemptClosed {
		return o.state.Pay, nil
	}
	o.talking = true
	defer func() { o.talking = false }()
	if !o.attemptClosed {
		paid, err := o.closeAttempt(ctx)
		if err != nil {
			return nil, err
		}
		if paid {
			return nil, o.notPayable("was paid meanwhile")
		}
		o.attemptClosed = true
	}
	o.attempt++
	res, err := o.prepayAttempt(ctx, req.PayChannel, req.ClientIP)
	o.step(ctx, contract.StepAwaitPayment)
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
	if !o.payable() {
		return temporal.NewApplicationError("order "+o.in.OrderNo+" is "+o.state.Status+" and can no longer be cancelled",
			string(contract.ErrNotCancellable))
	}
	return nil
}

// cancel asks the main flow to cancel and answers with the outcome.
func (o *orderFlow) cancel(ctx workflow.Context) (*contract.CancelResult, error) {
	o.cancelRequested = true
	if err := workflow.Await(ctx, func() bool { return o.phase == phaseDone }); err != nil {
		return nil, err
	}
	return &contract.CancelResult{Status: o.state.Status, Reason: o.state.Reason}, nil
}
