package api

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payments"
)

// OrderView is GET /api/v1/orders/{order_no}: what a client polls.
type OrderView struct {
	OrderNo       string          `json:"order_no"`
	Status        string          `json:"status"`
	StatusReason  string          `json:"status_reason,omitempty"`
	AmountCents   int64           `json:"amount"`
	PayChannel    string          `json:"pay_channel"`
	PointsAwarded int64           `json:"points_awarded"`
	Items         []orders.Item   `json:"items"`
	Address       json.RawMessage `json:"address"`
	Payment       *PaymentView    `json:"payment,omitempty"`
	// ExtraPayments are payments captured beyond the one the order kept
	// (a second attempt paid too); each is refunded through its own channel.
	ExtraPayments []ExtraPaymentView `json:"extra_payments"`
	CreatedAt     time.Time          `json:"created_at"`
	PaidAt        *time.Time         `json:"paid_at,omitempty"`
	CompletedAt   *time.Time         `json:"completed_at,omitempty"`
	ClosedAt      *time.Time         `json:"closed_at,omitempty"`
	// Delivery is a completed goods order's delivery (awaiting_shipment,
	// shipped, received, with its carrier and times); null for orders that
	// ship nothing or are not completed. Status keeps its own meaning.
	Delivery *contract.Delivery `json:"delivery"`
}

// PaymentView is the order's payment; pay parameters only while payable.
type PaymentView struct {
	OutTradeNo    string      `json:"out_trade_no"` // the attempt's number at the provider
	Channel       string      `json:"channel"`
	Status        string      `json:"status"`
	AmountCents   int64       `json:"amount"`
	TransactionID string      `json:"transaction_id,omitempty"`
	Verified      bool        `json:"verified"` // confirmed by a verified notify or a provider query
	ExpireAt      time.Time   `json:"expire_at"`
	PaidAt        *time.Time  `json:"paid_at,omitempty"`
	Pay           PayResponse `json:"pay,omitempty"`
}

// ExtraPaymentView is one extra payment and how its refund stands
// (pending, processing, succeeded or failed).
type ExtraPaymentView struct {
	OutTradeNo    string    `json:"out_trade_no"`
	Channel       string    `json:"channel"`
	AmountCents   int64     `json:"amount"`
	TransactionID string    `json:"transaction_id"`
	PaidAt        time.Time `json:"paid_at"`
	RefundNo      string    `json:"refund_no"`
	RefundStatus  string    `json:"refund_status"`
}

// getOrder returns one of the caller's orders. With changed_from (the
// status the client last saw) it is a long poll: the answer waits, up to
// wait seconds (default and most maxStatusWait), until the order's status
// is another; a client following its order after paying asks once instead
// of polling, and hears of the change the moment it commits.
func (s *Server) getOrder(c *fiber.Ctx) error {
	p := principal(c)
	if from := c.Query("changed_from"); from != "" {
		wait, err := statusWait(from, c.Query("wait"))
		if err != nil {
			return fail(c, fiber.StatusBadRequest, CodeBadRequest, err.Error())
		}
		if o := s.awaitStatusChange(c, p.UserID, from, wait); o != nil {
			return s.answerOrder(c, o, o.UserID == p.UserID)
		}
	}
	return s.showOrder(c, func(o *orders.Order) bool { return o.UserID == p.UserID })
}

// localLongPoll marks a request that waited for a status change: its
// latency is its wait, so it is measured and logged under its own route
// label (longPollLabel).
type localLongPoll struct{}

// longPollSuffix is added to the route label of a long poll.
const longPollSuffix = " (long poll)"

// maxStatusWait bounds a long poll, far below the API's write timeout. A
// shutdown ends the waits at once (StatusFeed.Stop), so they do not hold
// its grace period.
const maxStatusWait = 10 * time.Second

// statusWait checks a long poll's parameters: from must be an order status
// and wait whole seconds from 1 to maxStatusWait (empty: the most).
func statusWait(from, wait string) (time.Duration, error) {
	if !orders.IsStatus(from) {
		return 0, fmt.Errorf("changed_from: %q is not an order status", from)
	}
	if wait == "" {
		return maxStatusWait, nil
	}
	n, err := strconv.Atoi(wait)
	if err != nil || n < 1 || time.Duration(n)*time.Second > maxStatusWait {
		return 0, fmt.Errorf("wait: want whole seconds from 1 to %d, got %q", int(maxStatusWait/time.Second), wait)
	}
	return time.Duration(n) * time.Second, nil
}

// awaitStatusChange returns once the order of the path is no longer in
// status from, after wait, or at once when it is not the caller's order
// or cannot be read (the view that follows answers those). It subscribes
// before it reads, so a change between the read and the wait is heard.
// Woken by a change, it reads the whole order and returns it when its
// status moved (the answer needs no second read); otherwise it returns nil
// and the caller reads the order.
func (s *Server) awaitStatusChange(c *fiber.Ctx, userID uint, from string, wait time.Duration) *orders.Order {
	orderNo := c.Params("order_no")
	c.Locals(localLongPoll{}, true)
	woken, done := s.StatusFeed.Subscribe(orderNo)
	defer done()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	changed := false // woken by a change: read the whole order
	for {
		ctx, cancel := s.ctx(c)
		if changed {
			o, err := s.Orders.Get(ctx, orderNo)
			cancel()
			if err != nil || o.UserID != userID {
				return nil
			}
			if o.Status != from {
				return o
			}
		} else {
			o, err := s.Orders.Brief(ctx, orderNo)
			cancel()
			if err != nil || o.UserID != userID || o.Status != from {
				return nil
			}
		}
		changed = false
		recheck := time.NewTimer(s.StatusFeed.Recheck())
		select {
		case <-woken:
			changed = true
		case <-recheck.C:
		case <-deadline.C:
			recheck.Stop()
			return nil
		case <-s.StatusFeed.Stopped(): // shutting down: answer as it stands
			recheck.Stop()
			return nil
		}
		recheck.Stop()
	}
}

// showOrder answers the order of the path if visible says the caller may
// see it, and 404 otherwise.
func (s *Server) showOrder(c *fiber.Ctx, visible func(*orders.Order) bool) error {
	ctx, cancel := s.ctx(c)
	defer cancel()
	o, err := s.Orders.Get(ctx, c.Params("order_no"))
	if err != nil {
		return s.orderError(c, err)
	}
	return s.answerOrder(c, o, visible(o))
}

// answerOrder answers with the view of order o if the caller may see it
// (visible), and 404 otherwise.
func (s *Server) answerOrder(c *fiber.Ctx, o *orders.Order, visible bool) error {
	if !visible {
		return fail(c, fiber.StatusNotFound, CodeNotFound, "order not found")
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	view, err := s.orderView(ctx, o)
	if err != nil {
		return s.orderError(c, err)
	}
	return c.JSON(view)
}

// orderView reads what the order view shows besides the order row: its
// payment and its extra payments (one query unless it has extra payments).
func (s *Server) orderView(ctx context.Context, o *orders.Order) (*OrderView, error) {
	view := &OrderView{
		OrderNo: o.OrderNo, Status: o.Status, StatusReason: o.StatusReason, AmountCents: o.AmountCents,
		PayChannel: o.PayChannel, PointsAwarded: o.PointsAwarded, Items: o.Items, Address: o.Address(),
		CreatedAt: o.CreatedAt, PaidAt: o.PaidAt, CompletedAt: o.CompletedAt, ClosedAt: o.ClosedAt,
		Delivery: o.Delivery(),
	}
	money, err := s.Payments.View(ctx, o.OrderNo)
	if err != nil {
		return nil, err
	}
	if money.Shown != nil {
		view.Payment = paymentView(money.Shown, payable(o.Status))
	}
	view.ExtraPayments = make([]ExtraPaymentView, 0, len(money.Extras))
	for _, e := range money.Extras {
		view.ExtraPayments = append(view.ExtraPayments, ExtraPaymentView{
			OutTradeNo: e.OutTradeNo, Channel: e.Channel, AmountCents: e.AmountCents, TransactionID: e.TransactionID,
			PaidAt: e.PaidAt, RefundNo: e.RefundNo, RefundStatus: e.RefundStatus,
		})
	}
	return view, nil
}

// payable reports whether an order in this status may still be paid: only
// then does its view carry pay parameters. A completed, closed, cancelled
// or refunded order never shows the live parameters of an unpaid attempt.
func payable(status string) bool {
	return status == orders.StatusPending || status == orders.StatusAwaitingPayment
}

func paymentView(p *payments.Payment, payable bool) *PaymentView {
	v := &PaymentView{OutTradeNo: p.OutTradeNo, Channel: p.Channel, Status: p.Status, AmountCents: p.AmountCents, ExpireAt: p.ExpireAt, PaidAt: p.PaidAt, Verified: p.Verified}
	if p.TransactionID != nil {
		v.TransactionID = *p.TransactionID
	}
	if payable && p.Status == payments.StatusUnpaid && time.Now().Before(p.ExpireAt) {
		v.Pay = payResponse(&payments.PrepayResult{Channel: p.Channel, Params: p.Params(), ExpireAt: p.ExpireAt})
	}
	return v
}
