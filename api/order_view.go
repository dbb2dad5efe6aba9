package api

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"

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
	CreatedAt     time.Time       `json:"created_at"`
	PaidAt        *time.Time      `json:"paid_at,omitempty"`
	CompletedAt   *time.Time      `json:"completed_at,omitempty"`
	ClosedAt      *time.Time      `json:"closed_at,omitempty"`
}

// PaymentView is the order's payment; pay parameters only while payable.
type PaymentView struct {
	Channel       string      `json:"channel"`
	Status        string      `json:"status"`
	AmountCents   int64       `json:"amount"`
	TransactionID string      `json:"transaction_id,omitempty"`
	Verified      bool        `json:"verified"` // confirmed by a verified notify or a provider query
	ExpireAt      time.Time   `json:"expire_at"`
	PaidAt        *time.Time  `json:"paid_at,omitempty"`
	Pay           PayResponse `json:"pay,omitempty"`
}

// getOrder returns one of the caller's orders.
func (s *Server) getOrder(c *fiber.Ctx) error {
	p := principal(c)
	return s.showOrder(c, func(o *orders.Order) bool { return o.UserID == p.UserID })
}

// adminGetOrder returns any order (GET /api/v1/admin/orders/{order_no}).
func (s *Server) adminGetOrder(c *fiber.Ctx) error {
	return s.showOrder(c, func(*orders.Order) bool { return true })
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
	if !visible(o) {
		return fail(c, fiber.StatusNotFound, CodeNotFound, "order not found")
	}
	view := OrderView{
		OrderNo: o.OrderNo, Status: o.Status, StatusReason: o.StatusReason, AmountCents: o.AmountCents,
		PayChannel: o.PayChannel, PointsAwarded: o.PointsAwarded, Items: o.Items, Address: o.Address(),
		CreatedAt: o.CreatedAt, PaidAt: o.PaidAt, CompletedAt: o.CompletedAt, ClosedAt: o.ClosedAt,
	}
	pay, err := s.Payments.Get(ctx, o.OrderNo)
	switch {
	case err == nil:
		view.Payment = paymentView(pay)
	case !errors.Is(err, payments.ErrNotFound):
		return s.orderError(c, err)
	}
	return c.JSON(view)
}

func paymentView(p *payments.Payment) *PaymentView {
	v := &PaymentView{Channel: p.Channel, Status: p.Status, AmountCents: p.AmountCents, ExpireAt: p.ExpireAt, PaidAt: p.PaidAt, Verified: p.Verified}
	if p.TransactionID != nil {
		v.TransactionID = *p.TransactionID
	}
	if p.Status == payments.StatusUnpaid && time.Now().Before(p.ExpireAt) {
		v.Pay = payResponse(&payments.PrepayResult{Channel: p.Channel, Params: p.Params(), ExpireAt: p.ExpireAt})
	}
	return v
}
