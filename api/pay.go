package api

import (
	"context"
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v2"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/orders"
)

// RepayRequestBody is the body of POST /api/v1/orders/{order_no}/pay.
type RepayRequestBody struct {
	PayChannel string `json:"pay_channel"`
}

// ownOrder loads an order the caller may act on (404 otherwise).
func (s *Server) ownOrder(c *fiber.Ctx, ctx context.Context) (*orders.Order, error) {
	o, err := s.Orders.Get(ctx, c.Params("order_no"))
	if err != nil {
		return nil, err
	}
	if p := principal(c); o.UserID != p.UserID {
		return nil, orders.ErrNotFound
	}
	return o, nil
}

// repayOrder pays an unpaid order again: the same channel returns the same
// parameters without calling the provider; another channel closes the old
// provider order first. Paid, closed or expired orders get 409.
func (s *Server) repayOrder(c *fiber.Ctx) error {
	var req RepayRequestBody
	if err := decodeJSON(c, &req); err != nil {
		return fail(c, fiber.StatusBadRequest, CodeInvalidJSON, err.Error())
	}
	if !s.Payments.Supports(req.PayChannel) && contract.IsChannel(req.PayChannel) {
		return channelNotAvailable(c, req.PayChannel, s.Payments.Channels())
	}
	if !s.Payments.Supports(req.PayChannel) {
		return fail(c, fiber.StatusBadRequest, CodeBadRequest, "pay_channel "+req.PayChannel+" is not supported")
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	o, err := s.ownOrder(c, ctx)
	if err != nil {
		return s.orderError(c, err)
	}
	if o.Status != orders.StatusAwaitingPayment {
		return fail(c, fiber.StatusConflict, CodeOrderState, "order "+o.OrderNo+" is "+o.Status+" and can no longer be paid")
	}
	// Refuse what the new channel cannot take before the workflow closes the
	// live provider order for it: a refused re-pay changes nothing.
	switch req.PayChannel {
	case contract.ChannelFree:
		return fail(c, fiber.StatusBadRequest, CodeBadRequest, fmt.Sprintf("pay_channel free is only for zero-amount orders; this one is %d cents", o.AmountCents))
	case contract.ChannelBalance:
		bal, err := s.Wallet.Balance(ctx, o.UserID)
		if err != nil {
			return s.orderError(c, err)
		}
		if bal < o.AmountCents {
			return fail(c, fiber.StatusPaymentRequired, CodeInsufficientBalance,
				fmt.Sprintf("wallet balance %d is less than the order amount %d", bal, o.AmountCents))
		}
	}
	var res contract.PrepayResult
	if err := s.updateOrder(ctx, client.UpdateWorkflowOptions{
		WorkflowID: o.OrderNo,
		UpdateName: contract.UpdateRepay,
		Args:       []any{contract.RepayRequest{PayChannel: req.PayChannel, ClientIP: c.IP()}},
	}, &res); err != nil {
		return s.updateError(c, o, err)
	}
	return c.JSON(CreateOrderResponse{OrderNo: o.OrderNo, Status: orders.StatusAwaitingPayment, AmountCents: o.AmountCents, Pay: payResponse(&res)})
}

// cancelOrder cancels an order before payment (a workflow update whose
// validator refuses paid orders).
func (s *Server) cancelOrder(c *fiber.Ctx) error {
	ctx, cancel := s.ctx(c)
	defer cancel()
	o, err := s.ownOrder(c, ctx)
	if err != nil {
		return s.orderError(c, err)
	}
	var res contract.CancelResult
	if err := s.updateOrder(ctx, client.UpdateWorkflowOptions{
		WorkflowID: o.OrderNo,
		UpdateName: contract.UpdateCancel,
	}, &res); err != nil {
		return s.updateError(c, o, err)
	}
	return c.JSON(fiber.Map{"order_no": o.OrderNo, "status": res.Status, "status_reason": res.Reason})
}

// updateOrder runs an update on an order's workflow, waits for it to
// complete and reads its answer into out.
func (s *Server) updateOrder(ctx context.Context, opts client.UpdateWorkflowOptions, out any) error {
	opts.WaitForStage = client.WorkflowUpdateStageCompleted
	h, err := s.Temporal.UpdateWorkflow(ctx, opts)
	if err != nil {
		return err
	}
	return h.Get(ctx, out)
}

// updateError maps a failed update: a finished workflow means the order is
// no longer in a state that accepts it.
func (s *Server) updateError(c *fiber.Ctx, o *orders.Order, err error) error {
	var gone *serviceerror.NotFound
	if errors.As(err, &gone) {
		return fail(c, fiber.StatusConflict, CodeOrderState, "order "+o.OrderNo+" is "+o.Status)
	}
	return s.orderError(c, err)
}
