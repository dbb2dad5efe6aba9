package api

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/pagination"
	"github.com/shopflow/orderpay/internal/payments"
)

// exportTimeout bounds a CSV export (it streams every matching order).
const exportTimeout = 10 * time.Minute

// AdminOrderView is GET /api/v1/admin/orders/{order_no}: the order view
// with its buyer, every payment attempt and every refund.
type AdminOrderView struct {
	OrderView
	UserID   uint              `json:"user_id"`
	Payments []AttemptView     `json:"payments"`
	Refunds  []payments.Refund `json:"refunds"`
	// Workflow is where the order's workflow stands (its state query) and
	// its page in the Temporal Web UI.
	Workflow *WorkflowView `json:"workflow"`
}

// AdminOrderSummary is an order in the operators' list; Step (the
// workflow's, with ?include=step) is blank when the workflow did not answer.
type AdminOrderSummary struct {
	OrderSummary
	Step contract.Step `json:"step,omitempty"`
}

// AttemptView is one payment attempt of an order, as operators see it.
type AttemptView struct {
	OutTradeNo    string     `json:"out_trade_no"`
	Attempt       int        `json:"attempt"`
	Channel       string     `json:"channel"`
	Status        string     `json:"status"`
	AmountCents   int64      `json:"amount"`
	TransactionID string     `json:"transaction_id,omitempty"`
	Verified      bool       `json:"verified"`
	ExpireAt      time.Time  `json:"expire_at"`
	PaidAt        *time.Time `json:"paid_at,omitempty"`
	PayableUntil  *time.Time `json:"payable_until,omitempty"`
}

// adminGetOrder answers any order with its payments and refunds.
func (s *Server) adminGetOrder(c *fiber.Ctx) error {
	ctx, cancel := s.ctx(c)
	defer cancel()
	o, err := s.Orders.Get(ctx, c.Params("order_no"))
	if err != nil {
		return s.orderError(c, err)
	}
	view, err := s.orderView(ctx, o)
	if err != nil {
		return s.orderError(c, err)
	}
	attempts, err := s.Payments.Attempts(ctx, o.OrderNo)
	if err != nil {
		return s.orderError(c, err)
	}
	refunds, err := s.Payments.Refunds(ctx, o.OrderNo)
	if err != nil {
		return s.orderError(c, err)
	}
	out := AdminOrderView{OrderView: *view, UserID: o.UserID, Payments: make([]AttemptView, 0, len(attempts)), Refunds: refunds,
		Workflow: s.workflowView(ctx, o.OrderNo)}
	for _, p := range attempts {
		a := AttemptView{OutTradeNo: p.OutTradeNo, Attempt: p.Attempt, Channel: p.Channel, Status: p.Status,
			AmountCents: p.AmountCents, Verified: p.Verified, ExpireAt: p.ExpireAt, PaidAt: p.PaidAt, PayableUntil: p.PayableUntil}
		if p.TransactionID != nil {
			a.TransactionID = *p.TransactionID
		}
		out.Payments = append(out.Payments, a)
	}
	return c.JSON(out)
}

// orderQuery reads the filters of the operators' order search:
// status, user_id, channel, order_no, from, to (RFC 3339, or a date
// YYYY-MM-DD in UTC; to is exclusive, a date includes its day), limit,
// cursor.
func orderQuery(c *fiber.Ctx) (orders.Query, error) {
	q := orders.Query{Status: c.Query("status"), Channel: c.Query("channel"), OrderNo: c.Query("order_no"), Cursor: c.Query("cursor")}
	if v := c.Query("user_id"); v != "" {
		id, err := strconv.ParseUint(v, 10, 32)
		if err != nil || id == 0 {
			return q, fmt.Errorf("user_id must be a positive integer")
		}
		q.UserID = uint(id)
	}
	var err error
	if q.From, err = queryTime(c.Query("from"), "from", false); err != nil {
		return q, err
	}
	if q.To, err = queryTime(c.Query("to"), "to", true); err != nil {
		return q, err
	}
	if q.Limit, err = pagination.Limit(c.Query("limit")); err != nil {
		return q, err
	}
	for name, v := range map[string]string{"status": q.Status, "channel": q.Channel, "order_no": q.OrderNo, "cursor": q.Cursor} {
		if err := checkText(name, v); err != nil {
			return q, err
		}
		if len(v) > 200 {
			return q, fmt.Errorf("%s is too long", name)
		}
	}
	return q, q.Check()
}

// queryTime reads an RFC 3339 time or a date (midnight UTC; with endOfDay
// the next midnight, so a date "to" includes its day).
func queryTime(v, name string, endOfDay bool) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	d, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s must be an RFC 3339 time or a date YYYY-MM-DD", name)
	}
	if endOfDay {
		d = d.AddDate(0, 0, 1)
	}
	return d, nil
}

// adminListOrders answers GET /api/v1/admin/orders: any buyer's orders,
// newest first, filtered (see orderQuery); with ?include=step each
// order's workflow step too (see orderSteps).
func (s *Server) adminListOrders(c *fiber.Ctx) error {
	note(c).detail = cutTo(string(c.Request().URI().QueryString()), 500)
	q, err := orderQuery(c)
	if err != nil {
		return fail(c, fiber.StatusBadRequest, CodeBadRequest, err.Error())
	}
	withStep := false
	switch c.Query("include") {
	case "":
	case "step":
		withStep = true
	default:
		return fail(c, fiber.StatusBadRequest, CodeBadRequest, "include must be step")
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	page, err := s.Orders.List(ctx, q)
	if err != nil {
		return s.shopError(c, err, "order")
	}
	list := orderPage(page, true)
	var steps map[string]contract.Step
	if withStep {
		steps = s.orderSteps(ctx, list.Orders)
	}
	out := make([]AdminOrderSummary, 0, len(list.Orders))
	for _, o := range list.Orders {
		out = append(out, AdminOrderSummary{OrderSummary: o, Step: steps[o.OrderNo]})
	}
	return c.JSON(fiber.Map{"orders": out, "next_cursor": list.NextCursor})
}

// csvHeader names the columns of the order export.
var csvHeader = []string{"order_no", "user_id", "status", "status_reason", "pay_channel", "amount",
	"points_awarded", "items", "created_at", "paid_at", "completed_at", "closed_at"}

// adminExportOrders answers GET /api/v1/admin/orders.csv: every order the
// filters select (limit and cursor are ignored), newest first, streamed
// as CSV a page at a time. Text cells that a spreadsheet would run as a
// formula are defused (see csvCell).
func (s *Server) adminExportOrders(c *fiber.Ctx) error {
	note(c).detail = cutTo(string(c.Request().URI().QueryString()), 500)
	q, err := orderQuery(c)
	if err != nil {
		return fail(c, fiber.StatusBadRequest, CodeBadRequest, err.Error())
	}
	q.Cursor, q.Limit = "", pagination.MaxLimit
	// The stream writer runs after this handler returns: keep no string
	// that points into the request's buffers.
	q.Status, q.Channel, q.OrderNo = strings.Clone(q.Status), strings.Clone(q.Channel), strings.Clone(q.OrderNo)
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="orders-`+time.Now().UTC().Format("20060102T150405Z")+`.csv"`)
	c.Context().SetBodyStreamWriter(func(bw *bufio.Writer) {
		ctx, cancel := context.WithTimeout(context.Background(), exportTimeout)
		defer cancel()
		w := csv.NewWriter(bw)
		_ = w.Write(csvHeader)
		err := s.Orders.Each(ctx, q, func(o *orders.Order) error {
			if err := w.Write(csvRow(o)); err != nil {
				return err
			}
			if w.Flush(); w.Error() != nil {
				return w.Error()
			}
			return nil
		})
		w.Flush()
		if err == nil {
			err = w.Error()
		}
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			// The status is sent: the export ends short, and says so in the log.
			s.Logger.Error("order export cut short", "error", err)
		}
	})
	return nil
}

func csvRow(o *orders.Order) []string {
	items := make([]string, 0, len(o.Items))
	for _, it := range o.Items {
		items = append(items, fmt.Sprintf("%s x%d", it.Name, it.Quantity))
	}
	return []string{
		csvCell(o.OrderNo), strconv.FormatUint(uint64(o.UserID), 10), csvCell(o.Status), csvCell(o.StatusReason),
		csvCell(o.PayChannel), strconv.FormatInt(o.AmountCents, 10), strconv.FormatInt(o.PointsAwarded, 10),
		csvCell(strings.Join(items, "; ")), csvTime(&o.CreatedAt), csvTime(o.PaidAt), csvTime(o.CompletedAt), csvTime(o.ClosedAt),
	}
}

// csvCell defuses CSV injection: a text cell starting with = + - @ (or a
// tab or carriage return) is what a spreadsheet runs as a formula, so it
// is prefixed with a single quote and shown as text.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func csvTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// adminListRefunds answers GET /api/v1/admin/refunds
// (?order_no=&status=&limit=&cursor=): refunds, newest first.
func (s *Server) adminListRefunds(c *fiber.Ctx) error {
	limit, err := pagination.Limit(c.Query("limit"))
	if err != nil {
		return fail(c, fiber.StatusBadRequest, CodeBadRequest, err.Error())
	}
	q := payments.RefundQuery{OrderNo: c.Query("order_no"), Status: c.Query("status"), Cursor: c.Query("cursor"), Limit: limit}
	for name, v := range map[string]string{"order_no": q.OrderNo, "status": q.Status, "cursor": q.Cursor} {
		if err := checkText(name, v); err != nil {
			return fail(c, fiber.StatusBadRequest, CodeBadRequest, err.Error())
		}
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	page, err := s.Payments.ListRefunds(ctx, q)
	if err != nil {
		return s.shopError(c, err, "refund")
	}
	return c.JSON(fiber.Map{"refunds": page.Refunds, "next_cursor": page.NextCursor})
}
