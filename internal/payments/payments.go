// Package payments owns the payment record of each order and talks to the
// payment providers through one Gateway per channel. The payment row is the
// merchant's side of the truth: prepay parameters (reused while valid), the
// provider's transaction id once paid, and whether it was verified.
package payments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Pay channels.
const (
	ChannelWeChatJSAPI  = "wechat_jsapi"
	ChannelWeChatNative = "wechat_native"
)

// Payment statuses.
const (
	StatusUnpaid = "unpaid"
	StatusPaid   = "paid"
	StatusClosed = "closed"
)

var (
	// ErrNotFound means the order has no payment row.
	ErrNotFound = errors.New("payment not found")
	// ErrUnknownChannel means no gateway serves the channel.
	ErrUnknownChannel = errors.New("unknown pay channel")
	// ErrProviderRejected means the provider refused the request for a
	// business reason; retrying the same request will not help.
	ErrProviderRejected = errors.New("provider rejected the request")
	// ErrAlreadyPaid means the provider order was paid, so it cannot be closed.
	ErrAlreadyPaid = errors.New("provider order already paid")
	// ErrConflictingPayment means a second, different transaction claims to
	// have paid an order that is already paid.
	ErrConflictingPayment = errors.New("order already paid by another transaction")
)

// Payment is one order's payment at its provider. out_trade_no is the order number.
type Payment struct {
	ID            uint       `gorm:"primaryKey" json:"-"`
	OrderNo       string     `gorm:"size:32;not null;uniqueIndex" json:"-"`
	UserID        uint       `gorm:"not null;index" json:"-"`
	Channel       string     `gorm:"size:24;not null" json:"channel"`
	AmountCents   int64      `gorm:"not null" json:"amount"`
	Status        string     `gorm:"size:16;not null;index" json:"status"`
	PrepayID      string     `gorm:"size:128" json:"-"`
	ParamsJSON    string     `gorm:"type:text" json:"-"`
	TransactionID *string    `gorm:"size:64;uniqueIndex" json:"transaction_id,omitempty"`
	ExpireAt      time.Time  `gorm:"not null;index" json:"expire_at"`
	PaidAt        *time.Time `json:"paid_at,omitempty"`
	Verified      bool       `gorm:"not null;default:false" json:"verified"`
	CreatedAt     time.Time  `json:"-"`
	UpdatedAt     time.Time  `json:"-"`
}

// Params returns the stored client pay parameters.
func (p *Payment) Params() map[string]string {
	var m map[string]string
	_ = json.Unmarshal([]byte(p.ParamsJSON), &m) // written by us; empty on error
	return m
}

// PrepayRequest asks a provider for a payable order.
type PrepayRequest struct {
	OrderNo     string
	Channel     string
	Description string
	AmountCents int64
	OpenID      string // payer, for JSAPI
	ExpireAt    time.Time
}

// PrepayResult is what the client needs to pay.
type PrepayResult struct {
	Channel  string            `json:"channel"`
	PrepayID string            `json:"prepay_id,omitempty"`
	Params   map[string]string `json:"params"`
	ExpireAt time.Time         `json:"expire_at"`
}

// Trade is a provider's view of an order's payment.
type Trade struct {
	OutTradeNo    string
	TransactionID string
	Paid          bool
	State         string // provider's own state word (SUCCESS, NOTPAY, CLOSED, …)
	AmountCents   int64
	PaidAt        time.Time
	AppID, MchID  string
}

// Gateway is one provider's merchant API.
type Gateway interface {
	Prepay(ctx context.Context, req PrepayRequest) (*PrepayResult, error)
	Query(ctx context.Context, outTradeNo string) (*Trade, error)
	Close(ctx context.Context, outTradeNo string) error
}

// Service records payments and routes provider calls by channel.
type Service struct {
	db       *gorm.DB
	gateways map[string]Gateway
	now      func() time.Time
}

// NewService returns a payment service; gateways maps pay channel → gateway.
func NewService(db *gorm.DB, gateways map[string]Gateway) *Service {
	return &Service{db: db, gateways: gateways, now: time.Now}
}

// Supports reports whether a channel has a gateway.
func (s *Service) Supports(channel string) bool { _, ok := s.gateways[channel]; return ok }

func (s *Service) gateway(channel string) (Gateway, error) {
	g, ok := s.gateways[channel]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownChannel, channel)
	}
	return g, nil
}

// Prepay returns the client pay parameters for an order. Stored parameters
// are reused while they are valid for the same channel, so a retried
// activity or a repeated submit never asks the provider twice.
func (s *Service) Prepay(ctx context.Context, userID uint, req PrepayRequest) (*PrepayResult, error) {
	if p, err := s.Get(ctx, req.OrderNo); err == nil {
		if p.Channel == req.Channel && p.Status == StatusUnpaid && s.now().Before(p.ExpireAt) {
			return &PrepayResult{Channel: p.Channel, PrepayID: p.PrepayID, Params: p.Params(), ExpireAt: p.ExpireAt}, nil
		}
		if p.Status != StatusUnpaid {
			return nil, fmt.Errorf("%w: payment of %s is %s", ErrProviderRejected, req.OrderNo, p.Status)
		}
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	g, err := s.gateway(req.Channel)
	if err != nil {
		return nil, err
	}
	res, err := g.Prepay(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("prepay %s via %s: %w", req.OrderNo, req.Channel, err)
	}
	params, err := json.Marshal(res.Params)
	if err != nil {
		return nil, fmt.Errorf("encode pay params: %w", err)
	}
	row := Payment{
		OrderNo: req.OrderNo, UserID: userID, Channel: req.Channel, AmountCents: req.AmountCents,
		Status: StatusUnpaid, PrepayID: res.PrepayID, ParamsJSON: string(params), ExpireAt: res.ExpireAt,
	}
	err = s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "order_no"}},
		DoUpdates: clause.AssignmentColumns([]string{"channel", "prepay_id", "params_json", "expire_at", "updated_at"}),
		Where:     clause.Where{Exprs: []clause.Expression{clause.Eq{Column: "payments.status", Value: StatusUnpaid}}},
	}).Create(&row).Error
	if err != nil {
		return nil, fmt.Errorf("record prepay of %s: %w", req.OrderNo, err)
	}
	return res, nil
}

// Get loads the payment row of an order.
func (s *Service) Get(ctx context.Context, orderNo string) (*Payment, error) {
	var p Payment
	err := s.db.WithContext(ctx).Where("order_no = ?", orderNo).Take(&p).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, orderNo)
	}
	if err != nil {
		return nil, fmt.Errorf("load payment %s: %w", orderNo, err)
	}
	return &p, nil
}

// Paid is a confirmed payment, from a verified notify or a provider query.
type Paid struct {
	OrderNo       string    `json:"order_no"`
	TransactionID string    `json:"transaction_id"`
	AmountCents   int64     `json:"amount"`
	PaidAt        time.Time `json:"paid_at"`
	Source        string    `json:"source"` // notify | query
}

// MarkPaid records a confirmed payment. It is idempotent by transaction id:
// recording the same transaction again changes nothing, while a different
// transaction for an already-paid order is refused with ErrConflictingPayment.
func (s *Service) MarkPaid(ctx context.Context, p Paid) error {
	txID := p.TransactionID
	res := s.db.WithContext(ctx).Model(&Payment{}).
		Where("order_no = ? AND status <> ?", p.OrderNo, StatusPaid).
		Updates(map[string]any{"status": StatusPaid, "transaction_id": &txID, "paid_at": p.PaidAt.UTC(), "verified": true})
	if res.Error != nil {
		return fmt.Errorf("mark %s paid: %w", p.OrderNo, res.Error)
	}
	if res.RowsAffected == 1 {
		return nil
	}
	cur, err := s.Get(ctx, p.OrderNo)
	if err != nil {
		return err
	}
	if cur.TransactionID == nil || *cur.TransactionID != txID {
		return fmt.Errorf("%w: %s has %v, got %s", ErrConflictingPayment, p.OrderNo, cur.TransactionID, txID)
	}
	return nil
}

// Query asks the order's provider for the payment's state.
func (s *Service) Query(ctx context.Context, orderNo string) (*Trade, error) {
	p, err := s.Get(ctx, orderNo)
	if err != nil {
		return nil, err
	}
	g, err := s.gateway(p.Channel)
	if err != nil {
		return nil, err
	}
	t, err := g.Query(ctx, orderNo)
	if err != nil {
		return nil, fmt.Errorf("query %s via %s: %w", orderNo, p.Channel, err)
	}
	return t, nil
}

// Close closes the order's provider order so it can no longer be paid, and
// marks the payment closed. A provider order that was paid meanwhile yields
// ErrAlreadyPaid and changes nothing.
func (s *Service) Close(ctx context.Context, orderNo string) error {
	p, err := s.Get(ctx, orderNo)
	if errors.Is(err, ErrNotFound) {
		return nil // never prepaid: nothing to close at the provider
	}
	if err != nil {
		return err
	}
	if p.Status == StatusClosed {
		return nil
	}
	if p.Status == StatusPaid {
		return fmt.Errorf("%w: %s", ErrAlreadyPaid, orderNo)
	}
	g, err := s.gateway(p.Channel)
	if err != nil {
		return err
	}
	if err := g.Close(ctx, orderNo); err != nil {
		return fmt.Errorf("close %s via %s: %w", orderNo, p.Channel, err)
	}
	err = s.db.WithContext(ctx).Model(&Payment{}).
		Where("order_no = ? AND status = ?", orderNo, StatusUnpaid).
		Update("status", StatusClosed).Error
	if err != nil {
		return fmt.Errorf("mark %s closed: %w", orderNo, err)
	}
	return nil
}
