package api

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/pagination"
)

// OrderSummary is one order of a list: what a list row shows, without
// the payment details of the order view.
type OrderSummary struct {
	OrderNo       string        `json:"order_no"`
	UserID        uint          `json:"user_id,omitempty"` // operators' lists only
	Status        string        `json:"status"`
	StatusReason  string        `json:"status_reason,omitempty"`
	AmountCents   int64         `json:"amount"`
	PayChannel    string        `json:"pay_channel"`
	PointsAwarded int64         `json:"points_awarded"`
	ItemCount     int64         `json:"item_count"` // units over every line
	Items         []orders.Item `json:"items"`
	CreatedAt     time.Time     `json:"created_at"`
	PaidAt        *time.Time    `json:"paid_at,omitempty"`
	CompletedAt   *time.Time    `json:"completed_at,omitempty"`
	ClosedAt      *time.Time    `json:"closed_at,omitempty"`
}

// OrderPage is a page of an order list; next_cursor is "" on the last.
type OrderPage struct {
	Orders     []OrderSummary `json:"orders"`
	NextCursor string         `json:"next_cursor"`
}

func orderSummary(o *orders.Order, withUser bool) OrderSummary {
	v := OrderSummary{
		OrderNo: o.OrderNo, Status: o.Status, StatusReason: o.StatusReason, AmountCents: o.AmountCents,
		PayChannel: o.PayChannel, PointsAwarded: o.PointsAwarded, Items: nonNil(o.Items),
		CreatedAt: o.CreatedAt, PaidAt: o.PaidAt, CompletedAt: o.CompletedAt, ClosedAt: o.ClosedAt,
	}
	if withUser {
		v.UserID = o.UserID
	}
	for _, it := range o.Items {
		v.ItemCount += it.Quantity
	}
	return v
}

func orderPage(p *orders.Page, withUser bool) OrderPage {
	out := OrderPage{Orders: make([]OrderSummary, 0, len(p.Orders)), NextCursor: p.NextCursor}
	for i := range p.Orders {
		out.Orders = append(out.Orders, orderSummary(&p.Orders[i], withUser))
	}
	return out
}

// listOrders answers GET /api/v1/orders: the caller's orders, newest
// first (?status=&limit=1..100&cursor=).
func (s *Server) listOrders(c *fiber.Ctx) error {
	limit, err := pagination.Limit(c.Query("limit"))
	if err != nil {
		return fail(c, fiber.StatusBadRequest, CodeBadRequest, err.Error())
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	page, err := s.Orders.List(ctx, orders.Query{
		UserID: principal(c).UserID, Status: c.Query("status"), Cursor: c.Query("cursor"), Limit: limit,
	})
	if err != nil {
		return s.shopError(c, err, "order")
	}
	return c.JSON(orderPage(page, false))
}
