package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/pagination"
)

var (
	// ErrNotFound means no product has that id (for buyers: none on sale).
	ErrNotFound = contract.Kinded(contract.ErrNotFound, "product not found")
	// ErrNegativeStock refuses a stock adjustment that would take the stock
	// below zero (after the deductions of orders already made).
	ErrNegativeStock = contract.Kinded(contract.ErrOutOfStock, "stock cannot go below zero")
)

// InvalidError refuses a product or an adjustment that breaks a rule; its
// kind is contract.ErrInvalidInput and Reason says which rule.
type InvalidError struct{ Reason string }

func (e *InvalidError) Error() string { return "invalid product: " + e.Reason }

// Kind is contract.ErrInvalidInput.
func (e *InvalidError) Kind() contract.ErrorKind { return contract.ErrInvalidInput }

func invalid(format string, args ...any) error {
	return &InvalidError{Reason: fmt.Sprintf(format, args...)}
}

// Product limits.
const (
	MaxNameLen        = 120  // runes
	MaxImageURLLen    = 500  // bytes
	MaxMembershipDays = 3650 // days per unit
	MaxReasonLen      = 200  // runes, of a stock adjustment's reason
)

// StockMovement is one line of the stock ledger: an operator's adjustment
// of a product's stock, with the reason and the stock it left.
type StockMovement struct {
	ID         uint      `gorm:"primaryKey" json:"id"`
	ProductID  uint      `gorm:"not null;index:idx_stock_movements_product,priority:1" json:"product_id"`
	Delta      int64     `gorm:"not null" json:"delta"`
	Reason     string    `gorm:"size:200;not null" json:"reason"`
	AdminID    uint      `gorm:"not null" json:"admin_id"`
	StockAfter int64     `gorm:"not null" json:"stock_after"`
	CreatedAt  time.Time `gorm:"index:idx_stock_movements_product,priority:2" json:"created_at"`
}

// ProductQuery selects a page of products by id.
type ProductQuery struct {
	OnSaleOnly bool   // buyers see only what is on sale
	Cursor     string // the previous page's NextCursor; "" for the first page
	Limit      int    // 1 to pagination.MaxLimit; 0 is pagination.DefaultLimit
}

// ProductPage is one page of products; NextCursor is "" on the last.
type ProductPage struct {
	Products   []Product
	NextCursor string
}

// Page reads a page of products, by id.
func (s *Service) Page(ctx context.Context, q ProductQuery) (*ProductPage, error) {
	limit := q.Limit
	if limit == 0 {
		limit = pagination.DefaultLimit
	}
	if limit < 1 || limit > pagination.MaxLimit {
		return nil, invalid("limit must be 1 to %d", pagination.MaxLimit)
	}
	after, err := pagination.DecodeID(q.Cursor)
	if err != nil {
		return nil, err
	}
	db := s.db.WithContext(ctx).Where("id > ?", after)
	if q.OnSaleOnly {
		db = db.Where("active = ?", true)
	}
	var ps []Product
	if err := db.Order("id").Limit(limit + 1).Find(&ps).Error; err != nil {
		return nil, fmt.Errorf("list products: %w", err)
	}
	page := &ProductPage{Products: ps}
	if len(ps) > limit {
		page.Products = ps[:limit]
		page.NextCursor = pagination.EncodeID(ps[limit-1].ID)
	}
	return page, nil
}

// Get loads a product; onSaleOnly hides one that is off sale (ErrNotFound).
func (s *Service) Get(ctx context.Context, id uint, onSaleOnly bool) (*Product, error) {
	db := s.db.WithContext(ctx).Where("id = ?", id)
	if onSaleOnly {
		db = db.Where("active = ?", true)
	}
	var p Product
	err := db.Take(&p).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("%w: %d", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("load product %d: %w", id, err)
	}
	return &p, nil
}

// ProductChange is an operator's edit of a product; nil fields stay as
// they are. Stock is never edited here: it moves through AdjustStock.
type ProductChange struct {
	Name           *string
	ImageURL       *string
	PriceCents     *int64
	Kind           *string
	MembershipDays *int
	OnSale         *bool
}

// Create adds a product after checking it (see validate). Its stock is
// the opening stock.
func (s *Service) Create(ctx context.Context, p Product) (*Product, error) {
	p.ID, p.CreatedAt, p.UpdatedAt = 0, time.Time{}, time.Time{}
	if err := validate(&p); err != nil {
		return nil, err
	}
	if p.Stock < 0 {
		return nil, invalid("stock must be ≥ 0")
	}
	onSale := p.Active
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&p).Error; err != nil {
			return fmt.Errorf("create product: %w", err)
		}
		// GORM leaves a false Active out of the INSERT (the column's
		// default is true): write it as asked.
		if err := tx.Model(&Product{}).Where("id = ?", p.ID).UpdateColumn("active", onSale).Error; err != nil {
			return fmt.Errorf("create product %d: %w", p.ID, err)
		}
		p.Active = onSale
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// Update applies an operator's change to a product and returns it.
func (s *Service) Update(ctx context.Context, id uint, c ProductChange) (*Product, error) {
	var out *Product
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		p, err := NewService(tx).Get(ctx, id, false)
		if err != nil {
			return err
		}
		set(&p.Name, c.Name)
		set(&p.ImageURL, c.ImageURL)
		set(&p.PriceCents, c.PriceCents)
		set(&p.Kind, c.Kind)
		set(&p.MembershipDays, c.MembershipDays)
		set(&p.Active, c.OnSale)
		if err := validate(p); err != nil {
			return err
		}
		p.UpdatedAt = time.Now().UTC()
		// Stock is left out: an order's deduction may be changing it now.
		err = tx.Model(&Product{}).Where("id = ?", id).Updates(map[string]any{
			"name": p.Name, "image_url": p.ImageURL, "price_cents": p.PriceCents, "kind": p.Kind,
			"membership_days": p.MembershipDays, "active": p.Active, "updated_at": p.UpdatedAt,
		}).Error
		if err != nil {
			return fmt.Errorf("update product %d: %w", id, err)
		}
		out, err = NewService(tx).Get(ctx, id, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// validate checks a product's fields: a name of 1 to 120 characters, an
// image URL of at most 500 bytes (http or https, or none), a price ≥ 0, a
// known kind, and membership days (1 to 3650) for memberships only.
func validate(p *Product) error {
	p.Name = strings.TrimSpace(p.Name)
	p.ImageURL = strings.TrimSpace(p.ImageURL)
	if p.Kind == "" {
		p.Kind = KindGoods
	}
	switch n := utf8.RuneCountInString(p.Name); {
	case !utf8.ValidString(p.Name) || strings.ContainsRune(p.Name, 0):
		return invalid("name is not valid text")
	case n == 0 || n > MaxNameLen:
		return invalid("name must be 1 to %d characters", MaxNameLen)
	}
	if len(p.ImageURL) > MaxImageURLLen || !utf8.ValidString(p.ImageURL) || strings.ContainsRune(p.ImageURL, 0) ||
		(p.ImageURL != "" && !strings.HasPrefix(p.ImageURL, "https://") && !strings.HasPrefix(p.ImageURL, "http://")) {
		return invalid("image_url must be an http(s) URL of at most %d bytes", MaxImageURLLen)
	}
	if p.PriceCents < 0 {
		return invalid("price must be ≥ 0 cents")
	}
	switch p.Kind {
	case KindMembership:
		if p.MembershipDays < 1 || p.MembershipDays > MaxMembershipDays {
			return invalid("membership_days must be 1 to %d for a membership", MaxMembershipDays)
		}
	case KindGoods, KindRecharge:
		if p.MembershipDays != 0 {
			return invalid("membership_days is only for kind membership")
		}
	default:
		return invalid("kind must be %s, %s or %s", KindGoods, KindMembership, KindRecharge)
	}
	return nil
}

// Adjustment is an operator's change of a product's stock.
type Adjustment struct {
	ProductID uint
	Delta     int64 // units added (negative: taken out); never 0
	Reason    string
	AdminID   uint
}

// AdjustStock adds Delta to a product's stock and writes the movement to
// the stock ledger, in one transaction. The stock moves by one conditional
// UPDATE (stock + delta >= 0) on the same row that an order's deduction
// updates (stock >= quantity), so the two never race: whichever commits
// second sees the other's result, and neither can take the stock below
// zero (ErrNegativeStock, nothing written).
func (s *Service) AdjustStock(ctx context.Context, a Adjustment) (*StockMovement, error) {
	a.Reason = strings.TrimSpace(a.Reason)
	switch {
	case a.Delta == 0:
		return nil, invalid("delta must not be 0")
	case a.Delta > 1_000_000_000 || a.Delta < -1_000_000_000:
		return nil, invalid("delta must be within ±1000000000")
	case !utf8.ValidString(a.Reason) || strings.ContainsRune(a.Reason, 0):
		return nil, invalid("reason is not valid text")
	case a.Reason == "" || utf8.RuneCountInString(a.Reason) > MaxReasonLen:
		return nil, invalid("reason must be 1 to %d characters", MaxReasonLen)
	}
	var m *StockMovement
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		upd := tx.Model(&Product{}).Where("id = ? AND stock + ? >= 0", a.ProductID, a.Delta).
			UpdateColumn("stock", gorm.Expr("stock + ?", a.Delta))
		if upd.Error != nil {
			return fmt.Errorf("adjust stock of product %d: %w", a.ProductID, upd.Error)
		}
		p, err := NewService(tx).Get(ctx, a.ProductID, false) // our own row lock: the stock we left
		if err != nil {
			return err
		}
		if upd.RowsAffected == 0 {
			return fmt.Errorf("%w: product %d has %d, delta %d", ErrNegativeStock, p.ID, p.Stock, a.Delta)
		}
		m = &StockMovement{ProductID: a.ProductID, Delta: a.Delta, Reason: a.Reason, AdminID: a.AdminID, StockAfter: p.Stock}
		if err := tx.Create(m).Error; err != nil {
			return fmt.Errorf("record stock movement of product %d: %w", a.ProductID, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Movements reads a product's stock ledger, newest first (at most limit
// lines, 1 to pagination.MaxLimit).
func (s *Service) Movements(ctx context.Context, productID uint, limit int) ([]StockMovement, error) {
	if limit < 1 || limit > pagination.MaxLimit {
		limit = pagination.MaxLimit
	}
	ms := []StockMovement{}
	err := s.db.WithContext(ctx).Where("product_id = ?", productID).Order("id DESC").Limit(limit).Find(&ms).Error
	if err != nil {
		return nil, fmt.Errorf("list stock movements of product %d: %w", productID, err)
	}
	return ms, nil
}
