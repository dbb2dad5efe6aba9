package api

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/shopflow/orderpay/internal/platform"
)

// RefundRequestBody is the body of POST /api/v1/admin/orders/{order_no}/refund.
type RefundRequestBody struct {
	RefundNo    string `json:"refund_no"` // idempotency key; generated when empty
	AmountCents int64  `json:"amount"`    // 0 or absent: everything not yet refunded
	Reason      string `json:"reason"`
}

// refundOrder records a refund (bounded by what was paid, idempotent by
// refund_no) and starts its refund workflow. A refund of a top-up whose
// balance the buyer has spent is refused up front (409 recharge_spent,
// saying how much is unspent), and so is a refund of an order not
// fulfilled yet or refunded by its own workflow (409 refund_refused), with
// nothing recorded.
func (s *Server) refundOrder(c *fiber.Ctx) error {
	var req RefundRequestBody
	if err := decodeJSON(c, &req); err != nil {
		return fail(c, fiber.StatusBadRequest, CodeInvalidJSON, err.Error())
	}
	if req.AmountCents < 0 || len(req.RefundNo) > 64 || len(req.Reason) > 200 {
		return fail(c, fiber.StatusBadRequest, CodeBadRequest, "amount must be ≥ 0 cents, refund_no ≤ 64 and reason ≤ 200 characters")
	}
	if err := errors.Join(checkText("refund_no", req.RefundNo), checkText("reason", req.Reason)); err != nil {
		return fail(c, fiber.StatusBadRequest, CodeBadRequest, err.Error())
	}
	if req.RefundNo == "" {
		req.RefundNo = newRefundNo(time.Now())
	}
	if req.Reason == "" {
		req.Reason = "refund by operator"
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	orderNo := c.Params("order_no")
	o, err := s.Orders.Get(ctx, orderNo)
	if err != nil {
		return s.orderError(c, err)
	}
	if err := s.Fulfilment.CheckRefundable(ctx, orderNo, req.RefundNo, req.AmountCents); err != nil {
		return s.orderError(c, err)
	}
	r, err := s.Payments.OpenRefund(ctx, req.RefundNo, orderNo, req.AmountCents, req.Reason)
	if err != nil {
		return s.orderError(c, err)
	}
	// The refund is recorded: the answer is 202 whether or not Temporal
	// answers the start now, because a refund whose start went unanswered
	// is started by the next reconciliation pass (RefundStartGrace after it
	// was recorded), and an error answer would have the operator record
	// another.
	if err := s.refundStarter().Start(ctx, r.WorkflowInput(), o.Status); err != nil {
		s.log(c).Warn("refund recorded, its workflow not started yet: the reconciliation starts it",
			"refund_no", r.RefundNo, "order_no", r.OrderNo, "error", err)
	}
	return c.Status(fiber.StatusAccepted).JSON(r)
}

// refundStarter starts refund workflows on the order task queue.
func (s *Server) refundStarter() platform.RefundStarter {
	return platform.RefundStarter{Client: s.Temporal, TaskQueue: s.TaskQueue}
}

// getRefund shows a refund record.
func (s *Server) getRefund(c *fiber.Ctx) error {
	ctx, cancel := s.ctx(c)
	defer cancel()
	r, err := s.Payments.GetRefund(ctx, c.Params("refund_no"))
	if err != nil {
		return s.orderError(c, err)
	}
	return c.JSON(r)
}

// getWallet shows the caller's balance and latest ledger entries.
func (s *Server) getWallet(c *fiber.Ctx) error {
	ctx, cancel := s.ctx(c)
	defer cancel()
	uid := principal(c).UserID
	bal, err := s.Wallet.Balance(ctx, uid)
	if err != nil {
		return s.orderError(c, err)
	}
	entries, err := s.Wallet.Recent(ctx, uid, 50)
	if err != nil {
		return s.orderError(c, err)
	}
	return c.JSON(fiber.Map{"balance": bal, "entries": entries})
}

func newRefundNo(now time.Time) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		panic("entropy: " + err.Error())
	}
	return "RF" + now.Format("20060102150405") + hex.EncodeToString(b)
}
