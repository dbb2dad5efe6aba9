// Package orders owns the order record: the snapshot taken when the order
// was placed (names, prices, images, quantities and address as they were
// then) and its status as the order workflow moves it along.
package orders

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/wallet"
)

// Order statuses, in the order the workflow moves through them.
const (
	StatusPending           = contract.StatusPending
	StatusAwaitingPayment   = contract.StatusAwaitingPayment
	StatusPaid              = contract.StatusPaid
	StatusCompleted         = contract.StatusCompleted
	StatusClosed            = contract.StatusClosed
	StatusPaidUnfulfilled   = contract.StatusPaidUnfulfilled
	StatusRefunded          = contract.StatusRefunded
	StatusPartiallyRefunded = contract.StatusPartiallyRefunded
	StatusCancelled         = contract.StatusCancelled
)

// IsStatus reports whether s is a status an order record can have.
func IsStatus(s string) bool {
	switch s {
	case StatusPending, StatusAwaitingPayment, StatusPaid, StatusCompleted, StatusClosed,
		StatusPaidUnfulfilled, StatusRefunded, StatusPartiallyRefunded, StatusCancelled:
		return true
	}
	return false
}

// ErrNotFound means no order has that number.
var ErrNotFound = contract.Kinded(contract.ErrNotFound, "order not found")

// Order is one placed order. Amounts are integer cents.
type Order struct {
	OrderNo       string     `gorm:"primaryKey;size:32;index:idx_orders_user_created,priority:3;index:idx_orders_created,priority:2" json:"order_no"`
	UserID        uint       `gorm:"not null;index;index:idx_orders_user_created,priority:1" json:"user_id"`
	Status        string     `gorm:"size:24;not null;index" json:"status"`
	StatusReason  string     `gorm:"size:200" json:"status_reason,omitempty"`
	PayChannel    string     `gorm:"size:24;not null" json:"pay_channel"`
	AmountCents   int64      `gorm:"not null;check:amount_cents >= 0" json:"amount"`
	AddressJSON   string     `gorm:"type:text" json:"-"`
	PointsAwarded int64      `gorm:"not null;default:0" json:"points_awarded"`
	Items         []Item     `gorm:"foreignKey:OrderNo;references:OrderNo" json:"items"`
	CreatedAt     time.Time  `gorm:"index:idx_orders_user_created,priority:2;index:idx_orders_created,priority:1" json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	PaidAt        *time.Time `json:"paid_at,omitempty"`
	CompletedAt   *time.Time `json:"completed_at,omitempty"`
	ClosedAt      *time.Time `json:"closed_at,omitempty"`
	// Delivery of a completed goods order, beside its status (see Delivery).
	DeliveryStatus string     `gorm:"size:24;not null;default:''" json:"-"`
	Carrier        string     `gorm:"size:64;not null;default:''" json:"-"`
	TrackingNo     string     `gorm:"size:64;not null;default:''" json:"-"`
	ShippedAt      *time.Time `json:"-"`
	ReceivedAt     *time.Time `json:"-"`
	AutoReceived   bool       `gorm:"not null;default:false" json:"-"`
}

// Address returns the delivery address snapshot as raw JSON.
func (o *Order) Address() json.RawMessage {
	if o.AddressJSON == "" {
		return json.RawMessage("null")
	}
	return json.RawMessage(o.AddressJSON)
}

// Lines returns the order's product lines, for stock operations.
func (o *Order) Lines() []catalog.Line {
	lines := make([]catalog.Line, len(o.Items))
	for i, it := range o.Items {
		lines[i] = catalog.Line{ProductID: it.ProductID, Quantity: it.Quantity}
	}
	return lines
}

// Item is the snapshot of one product line at order time.
type Item struct {
	ID             uint   `gorm:"primaryKey" json:"-"`
	OrderNo        string `gorm:"size:32;not null;index" json:"-"`
	ProductID      uint   `gorm:"not null" json:"product_id"`
	Name           string `gorm:"size:120;not null" json:"name"`
	ImageURL       string `gorm:"size:500" json:"image_url"`
	Kind           string `gorm:"size:20;not null" json:"kind"`
	MembershipDays int    `gorm:"not null;default:0" json:"membership_days,omitempty"`
	UnitPriceCents int64  `gorm:"not null" json:"unit_price"`
	Quantity       int64  `gorm:"not null" json:"quantity"`
	SubtotalCents  int64  `gorm:"not null" json:"subtotal"`
}

// NewOrder is what a buyer asked for.
type NewOrder struct {
	OrderNo    string
	UserID     uint
	PayChannel string
	Address    json.RawMessage
	Lines      []catalog.Line
}

// Service reads and writes orders.
type Service struct {
	db       *gorm.DB
	observer StatusObserver
}

// NewService returns an order service over db.
func NewService(db *gorm.DB) *Service { return &Service{db: db} }

// StatusObserver hears every real change of an order's status, once (a
// repeated or stale move, which changes nothing, is not heard): the
// process's metrics (internal/metrics).
type StatusObserver interface {
	// OrderMoved is told the new status; for a move to paid, when the
	// order was created and when it was paid.
	OrderMoved(status string, orderedAt, paidAt time.Time)
}

// Observe makes o hear every status change this service writes, and
// returns the service.
func (s *Service) Observe(o StatusObserver) *Service {
	s.observer = o
	return s
}

// Create checks stock for every line, reserves it (catalog.Reserve) and
// writes the order with its snapshot, in one transaction. It is idempotent
// by order number: creating an order that exists returns the stored one,
// whatever the lines and the catalogue say now. The order is inserted
// without reading first (ON CONFLICT DO NOTHING): only when that writes
// nothing, or the transaction fails, is the stored order read, so a first
// attempt costs no read and a retry answers as before.
func (s *Service) Create(ctx context.Context, in NewOrder) (*Order, error) {
	var order *Order
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		products, err := catalog.NewService(tx).Check(ctx, in.Lines)
		if err != nil {
			return err
		}
		order = snapshot(in, products)
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Omit("Items").Create(order)
		if res.Error != nil {
			return fmt.Errorf("insert order %s: %w", in.OrderNo, res.Error)
		}
		if res.RowsAffected == 0 {
			return errOrderExists
		}
		if err := tx.Create(&order.Items).Error; err != nil {
			return fmt.Errorf("insert items of %s: %w", in.OrderNo, err)
		}
		// Reserve the stock now, so a sold-out product is refused at
		// placement (ErrOutOfStock, nothing written) and a paid order
		// takes what it reserved instead of being refunded.
		if err := catalog.NewService(tx).Reserve(ctx, order.OrderNo, order.Lines()); err != nil {
			return err
		}
		return debitWallet(ctx, tx, order)
	})
	if err == nil {
		return order, nil
	}
	// Written before (a retry, or a concurrent create): the stored order is
	// the answer, even when the check now refuses the lines (the product
	// sold out or withdrawn since). A read that fails is answered as it is
	// (retryable), never as the refusal: the order may exist.
	existing, gerr := s.Get(ctx, in.OrderNo)
	switch {
	case gerr == nil:
		return existing, nil
	case !errors.Is(gerr, ErrNotFound), errors.Is(err, errOrderExists):
		return nil, gerr
	}
	return nil, err
}

// errOrderExists rolls back a create whose order was written before.
var errOrderExists = errors.New("order exists")

// debitWallet takes a wallet order's amount in the transaction that writes
// the order, keyed by the order number (the first attempt's out_trade_no,
// which the balance provider's prepay then finds already paid). A short
// wallet rolls the whole order back: a refused order leaves nothing behind,
// even when many orders race for the same balance.
func debitWallet(ctx context.Context, tx *gorm.DB, o *Order) error {
	if o.PayChannel != contract.ChannelBalance || o.AmountCents <= 0 {
		return nil
	}
	if _, err := wallet.NewService(tx).Debit(ctx, o.UserID, o.OrderNo, wallet.KindPayment, o.AmountCents); err != nil {
		return fmt.Errorf("pay order %s from the wallet: %w", o.OrderNo, err)
	}
	return nil
}

func snapshot(in NewOrder, products map[uint]catalog.Product) *Order {
	o := &Order{
		OrderNo:     in.OrderNo,
		UserID:      in.UserID,
		Status:      StatusPending,
		PayChannel:  in.PayChannel,
		AddressJSON: string(in.Address),
	}
	for _, l := range catalog.Merge(in.Lines) {
		p := products[l.ProductID]
		it := Item{
			OrderNo:        in.OrderNo,
			ProductID:      p.ID,
			Name:           p.Name,
			ImageURL:       p.ImageURL,
			Kind:           p.Kind,
			MembershipDays: p.MembershipDays,
			UnitPriceCents: p.PriceCents,
			Quantity:       l.Quantity,
			SubtotalCents:  p.PriceCents * l.Quantity,
		}
		o.Items = append(o.Items, it)
		o.AmountCents += it.SubtotalCents
	}
	return o
}

// Get loads an order with its items.
func (s *Service) Get(ctx context.Context, orderNo string) (*Order, error) {
	return readWithItems(s.db.WithContext(ctx), orderNo)
}

// readWithItems reads an order joined with its items, in one query (Get,
// ForCompletion).
func readWithItems(db *gorm.DB, orderNo string) (*Order, error) {
	var rows []orderWithItem
	err := db.Table("orders").Select(orderWithItemColumns).
		Joins("LEFT JOIN items ON items.order_no = orders.order_no").
		Where("orders.order_no = ?", orderNo).Order("items.id").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("load order %s: %w", orderNo, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, orderNo)
	}
	o := rows[0].Order
	o.Items = make([]Item, 0, len(rows))
	for _, r := range rows {
		if r.ItemID != nil { // nil: an order without items (the outer join's empty side)
			o.Items = append(o.Items, Item{ID: *r.ItemID, OrderNo: o.OrderNo, ProductID: *r.ItemProductID,
				Name: *r.ItemName, ImageURL: *r.ItemImageURL, Kind: *r.ItemKind, MembershipDays: *r.ItemMembershipDays,
				UnitPriceCents: *r.ItemUnitPriceCents, Quantity: *r.ItemQuantity, SubtotalCents: *r.ItemSubtotalCents})
		}
	}
	return &o, nil
}

// orderWithItem is a row of an order joined with one of its items (Get:
// one query instead of the order and then its items).
type orderWithItem struct {
	Order
	ItemID             *uint
	ItemProductID      *uint
	ItemName           *string
	ItemImageURL       *string
	ItemKind           *string
	ItemMembershipDays *int
	ItemUnitPriceCents *int64
	ItemQuantity       *int64
	ItemSubtotalCents  *int64
}

const orderWithItemColumns = "orders.*, items.id AS item_id, items.product_id AS item_product_id, items.name AS item_name," +
	" COALESCE(items.image_url, '') AS item_image_url, items.kind AS item_kind, items.membership_days AS item_membership_days," +
	" items.unit_price_cents AS item_unit_price_cents, items.quantity AS item_quantity, items.subtotal_cents AS item_subtotal_cents"

// Transition is a status change requested by the workflow.
type Transition = contract.Transition

// SetReason rewrites the status reason of an order that is still in
// t.Status (why a paid_unfulfilled order's refund failed, say). An order
// that has moved on keeps its reason; the same reason again changes nothing.
func (s *Service) SetReason(ctx context.Context, t Transition) error {
	reason := t.Reason
	if r := []rune(reason); len(r) > maxReasonLen {
		reason = string(r[:maxReasonLen])
	}
	err := s.db.WithContext(ctx).Model(&Order{}).Where("order_no = ? AND status = ?", t.OrderNo, t.Status).
		Updates(map[string]any{"status_reason": reason, "updated_at": time.Now().UTC()}).Error
	if err != nil {
		return fmt.Errorf("set reason of order %s: %w", t.OrderNo, err)
	}
	return nil
}

// maxReasonLen is the size of orders.status_reason.
const maxReasonLen = 200

// movesFrom lists, for each status, the statuses an order may move to it
// from. Orders only move forward: when a workflow task is lost (a worker
// crash, a signal arriving as the workflow completes) its local activities
// run again, and a re-run "paid" must not take a completed or refunded
// order back. A status not listed here may be set from any other.
var movesFrom = map[string][]string{
	StatusAwaitingPayment:   {StatusPending},
	StatusPaid:              {StatusPending, StatusAwaitingPayment},
	StatusCompleted:         {StatusPaid},
	StatusClosed:            {StatusPending, StatusAwaitingPayment},
	StatusCancelled:         {StatusPending, StatusAwaitingPayment},
	StatusPaidUnfulfilled:   {StatusPending, StatusAwaitingPayment, StatusPaid, StatusClosed, StatusCancelled},
	StatusPartiallyRefunded: {StatusPaid, StatusCompleted, StatusPaidUnfulfilled},
	StatusRefunded:          {StatusPaid, StatusCompleted, StatusPaidUnfulfilled, StatusPartiallyRefunded},
}

// releases lists the statuses that end an order without taking its stock:
// closed, cancelled, and paid_unfulfilled (a payment that raced a cancel or
// did not match the amount is refunded without taking the stock). Moving
// to one of them releases the order's held reservation.
var releases = map[string]bool{StatusClosed: true, StatusCancelled: true, StatusPaidUnfulfilled: true}

// releaseStock gives back the stock orderNo still holds in reservation, in
// the transaction that moved its status (catalog.Release: at most once).
func releaseStock(ctx context.Context, tx *gorm.DB, orderNo string) error {
	var items []Item
	if err := tx.Where("order_no = ?", orderNo).Order("id").Find(&items).Error; err != nil {
		return fmt.Errorf("load items of %s: %w", orderNo, err)
	}
	o := Order{OrderNo: orderNo, Items: items}
	if _, err := catalog.NewService(tx).Release(ctx, orderNo, o.Lines()); err != nil {
		return err
	}
	return nil
}

// SetStatus moves an order to a new status and stamps the matching time.
// A move that ends the order unpaid (see releases) releases its reserved
// stock in the same transaction, so the stock comes back exactly once.
// Setting the status an order already has, or one it has moved past (see
// movesFrom), changes nothing, so a retried or re-run activity is harmless.
// On PostgreSQL a real move is announced on StatusChannel as it commits.
func (s *Service) SetStatus(ctx context.Context, t Transition) error {
	at := t.At.UTC()
	if t.At.IsZero() {
		at = time.Now().UTC()
	}
	// Reasons may embed provider messages; cut them to the column's size
	// (varchar(200)) so the write cannot fail on every retry.
	reason := t.Reason
	if r := []rune(reason); len(r) > maxReasonLen {
		reason = string(r[:maxReasonLen])
	}
	updates := map[string]any{"status": t.Status, "status_reason": reason, "updated_at": at}
	switch t.Status {
	case StatusPaid:
		updates["paid_at"] = at
	case StatusCompleted:
		updates["completed_at"] = at
		updates["points_awarded"] = t.Points
	case StatusClosed:
		updates["closed_at"] = at
	}
	var moved int64
	announcing := announces(s.db) // waiting readers hear of the move on commit (StatusFeed)
	move := func(tx *gorm.DB) error {
		q := tx.Model(&Order{}).Where("order_no = ? AND status <> ?", t.OrderNo, t.Status)
		if from, ok := movesFrom[t.Status]; ok {
			q = q.Where("status IN ?", from)
		}
		res := q.Updates(updates)
		if res.Error != nil {
			return fmt.Errorf("set order %s to %s: %w", t.OrderNo, t.Status, res.Error)
		}
		moved = res.RowsAffected
		if moved == 0 {
			return nil
		}
		if announcing {
			if err := announce(ctx, tx, t.OrderNo); err != nil {
				return fmt.Errorf("announce order %s: %w", t.OrderNo, err)
			}
		}
		if !releases[t.Status] {
			return nil
		}
		return releaseStock(ctx, tx, t.OrderNo)
	}
	var err error
	switch {
	case releases[t.Status]: // the status and its release commit together
		err = s.db.WithContext(ctx).Transaction(move)
	case announcing: // one statement that moves and announces: no transaction round trips
		moved, err = moveAndAnnounce(ctx, s.db, t, updates)
	default: // one statement
		err = move(s.db.WithContext(ctx))
	}
	if err != nil {
		return err
	}
	if moved == 0 {
		var n int64
		if err := s.db.WithContext(ctx).Model(&Order{}).Where("order_no = ?", t.OrderNo).Count(&n).Error; err != nil {
			return fmt.Errorf("check order %s: %w", t.OrderNo, err)
		}
		if n == 0 {
			return fmt.Errorf("%w: %s", ErrNotFound, t.OrderNo)
		}
		return nil
	}
	s.observe(ctx, t.OrderNo, t.Status, at)
	return nil
}

// moveAndAnnounce is SetStatus's move on PostgreSQL in one statement: the
// UPDATE, and a pg_notify for the row it moved, which PostgreSQL delivers
// when the statement's transaction commits (the caller's, if it runs
// inside one). It answers how many rows moved. One round trip where a
// transaction around the UPDATE and the notify took four: the move to
// awaiting_payment is on the place-order answer's path.
func moveAndAnnounce(ctx context.Context, db *gorm.DB, t Transition, updates map[string]any) (int64, error) {
	cond, args := "status <> ?", []any{t.Status}
	if from, ok := movesFrom[t.Status]; ok {
		cond += " AND status IN ?"
		args = append(args, from)
	}
	moved, err := moveAndAnnounceWhere(ctx, db, t.OrderNo, updates, cond, args)
	if err != nil {
		return 0, fmt.Errorf("set order %s to %s: %w", t.OrderNo, t.Status, err)
	}
	return moved, nil
}

// moveAndAnnounceWhere writes updates to orderNo's row where cond (with
// args) holds, and announces the row on StatusChannel if it moved, in one
// statement on PostgreSQL. It answers how many rows moved. The column names
// are the callers' own, never input.
func moveAndAnnounceWhere(ctx context.Context, db *gorm.DB, orderNo string, updates map[string]any, cond string, condArgs []any) (int64, error) {
	cols := make([]string, 0, len(updates))
	for c := range updates {
		cols = append(cols, c)
	}
	sort.Strings(cols)
	sets := make([]string, len(cols))
	args := make([]any, 0, len(cols)+len(condArgs)+2)
	for i, c := range cols {
		sets[i] = c + " = ?"
		args = append(args, updates[c])
	}
	args = append(args, orderNo)
	args = append(args, condArgs...)
	args = append(args, StatusChannel)
	q := "WITH moved AS (UPDATE orders SET " + strings.Join(sets, ", ") + " WHERE order_no = ? AND " + cond +
		" RETURNING order_no) SELECT pg_notify(?, order_no) FROM moved"
	rows, err := db.WithContext(ctx).Raw(q, args...).Rows()
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var moved int64
	for rows.Next() {
		moved++
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	return moved, nil
}

// observe tells the observer of a status change. A move to paid reads the
// order's creation time (one lookup by primary key, in the worker, once
// per paid order); if that read fails the change is still told, without
// the times.
func (s *Service) observe(ctx context.Context, orderNo, status string, at time.Time) {
	if s.observer == nil {
		return
	}
	var orderedAt time.Time
	if status == StatusPaid {
		var o Order
		if err := s.db.WithContext(ctx).Select("created_at").Where("order_no = ?", orderNo).Take(&o).Error; err == nil {
			orderedAt = o.CreatedAt
		}
	}
	s.observer.OrderMoved(status, orderedAt, at)
}
