// Package catalog owns products and their stock. Stock only ever moves
// through conditional updates, so it can never go below zero. An order
// reserves its stock when it is placed; the reservation is taken when it is
// paid or released when it ends unpaid, and every deduction and return is
// recorded once per order number.
package catalog

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/shopflow/orderpay/internal/contract"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Product kinds.
const (
	KindGoods      = "goods"
	KindMembership = "membership"
	KindRecharge   = "recharge" // a wallet top-up: the price is credited to the buyer's balance
)

var (
	// ErrUnknownProduct means a line names a product that does not exist or is not for sale.
	ErrUnknownProduct = contract.Kinded(contract.ErrUnknownProduct, "unknown product")
	// ErrOutOfStock means a line asks for more than is in stock.
	ErrOutOfStock = contract.Kinded(contract.ErrOutOfStock, "out of stock")
	// ErrInvalidLine means an order has no lines or a product's quantity is
	// not positive. It wraps ErrUnknownProduct so callers that refuse unknown
	// products refuse it too.
	ErrInvalidLine = fmt.Errorf("%w: invalid order line", ErrUnknownProduct)
)

// Product is a sellable item. Prices are integer cents.
type Product struct {
	ID             uint      `gorm:"primaryKey" json:"id"`
	Name           string    `gorm:"size:120;not null" json:"name"`
	ImageURL       string    `gorm:"size:500" json:"image_url"`
	PriceCents     int64     `gorm:"not null;check:price_cents >= 0" json:"price"`
	Stock          int64     `gorm:"not null;check:stock >= 0" json:"stock"`
	Kind           string    `gorm:"size:20;not null;default:goods" json:"kind"`
	MembershipDays int       `gorm:"not null;default:0" json:"membership_days,omitempty"`
	Active         bool      `gorm:"not null;default:true" json:"-"`
	CreatedAt      time.Time `json:"-"`
	UpdatedAt      time.Time `json:"-"`
}

// StockDeduction records that an order's stock was taken, so a retried
// deduction never takes it twice.
type StockDeduction struct {
	OrderNo   string `gorm:"primaryKey;size:32"`
	CreatedAt time.Time
}

// StockReturn records that an order's deducted stock was put back, so a
// retried return never adds it twice.
type StockReturn struct {
	OrderNo   string `gorm:"primaryKey;size:32"`
	CreatedAt time.Time
}

// Line is one requested product and quantity.
type Line = contract.Line

// Service reads the catalogue and moves stock.
type Service struct{ db *gorm.DB }

// NewService returns a catalogue service over db.
func NewService(db *gorm.DB) *Service { return &Service{db: db} }

// Within returns the service over tx, a transaction of the caller's.
func (s *Service) Within(tx *gorm.DB) *Service { return &Service{db: tx} }

// List returns every product for sale, by id.
func (s *Service) List(ctx context.Context) ([]Product, error) {
	var ps []Product
	if err := s.db.WithContext(ctx).Where("active = ?", true).Order("id").Find(&ps).Error; err != nil {
		return nil, fmt.Errorf("list products: %w", err)
	}
	return ps, nil
}

// Check loads the products of lines and checks that each exists and has the
// stock asked for. It returns the products by id for snapshotting.
func (s *Service) Check(ctx context.Context, lines []Line) (map[uint]Product, error) {
	return check(s.db.WithContext(ctx), lines)
}

func check(db *gorm.DB, lines []Line) (map[uint]Product, error) {
	want := Merge(lines)
	if len(want) == 0 {
		return nil, fmt.Errorf("%w: no lines", ErrInvalidLine)
	}
	ids := make([]uint, 0, len(want))
	for _, l := range want {
		if l.Quantity <= 0 { // a negative line would lower the amount and raise the stock
			return nil, fmt.Errorf("%w: product %d quantity %d", ErrInvalidLine, l.ProductID, l.Quantity)
		}
		ids = append(ids, l.ProductID)
	}
	var ps []Product
	if err := db.Where("id IN ? AND active = ?", ids, true).Find(&ps).Error; err != nil {
		return nil, fmt.Errorf("load products: %w", err)
	}
	byID := make(map[uint]Product, len(ps))
	for _, p := range ps {
		byID[p.ID] = p
	}
	for _, l := range want {
		p, ok := byID[l.ProductID]
		if !ok {
			return nil, fmt.Errorf("%w: product %d", ErrUnknownProduct, l.ProductID)
		}
		if p.Stock < l.Quantity {
			return nil, fmt.Errorf("%w: product %d has %d, %d wanted", ErrOutOfStock, p.ID, p.Stock, l.Quantity)
		}
	}
	return byID, nil
}

// Deduct takes the stock of lines for orderNo in one transaction, once
// (recorded in stock_deductions). An order placed with a reservation takes
// its reserved units: the reservation moves from held to taken and no
// product is decremented again. An order without a held reservation (placed
// before reservations, or whose reservation was released when it closed and
// that was paid late) is deducted as before: each product with a
// conditional update (stock >= quantity), so concurrent orders can never
// sell more than there is; if any line cannot be taken nothing is taken and
// ErrOutOfStock is returned. Deducting the same order again is a no-op.
func (s *Service) Deduct(ctx context.Context, orderNo string, lines []Line) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		deducted, reserved, err := recordDeduction(tx, orderNo)
		if err != nil || !deducted || reserved {
			return err // or deducted by an earlier attempt, or its reservation taken
		}
		for _, l := range Merge(lines) { // sorted by id: no lock-order deadlocks
			if err := take(tx, orderNo, l); err != nil {
				return err
			}
		}
		return nil
	})
}

// recordDeduction records orderNo's deduction (once: false when an earlier
// attempt did) and, when it did, takes its held reservation (reserved:
// whether there was one). On PostgreSQL both are one statement, the
// reservation's UPDATE reading the row the INSERT returned; elsewhere two.
func recordDeduction(tx *gorm.DB, orderNo string) (deducted, reserved bool, err error) {
	if tx.Dialector.Name() != "postgres" {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&StockDeduction{OrderNo: orderNo})
		if res.Error != nil {
			return false, false, fmt.Errorf("record deduction of %s: %w", orderNo, res.Error)
		}
		if res.RowsAffected == 0 {
			return false, false, nil
		}
		reserved, err := moveReservation(tx, orderNo, ReservationTaken)
		return true, reserved, err
	}
	now := time.Now().UTC()
	var n struct{ Deducted, Reserved int64 }
	err = tx.Raw("WITH d AS (INSERT INTO stock_deductions (order_no, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING order_no),"+
		" r AS (UPDATE stock_reservations SET state = ?, updated_at = ? WHERE order_no IN (SELECT order_no FROM d) AND state = ? RETURNING order_no)"+
		" SELECT (SELECT count(*) FROM d) AS deducted, (SELECT count(*) FROM r) AS reserved",
		orderNo, now, ReservationTaken, now, ReservationHeld).Scan(&n).Error
	if err != nil {
		return false, false, fmt.Errorf("record deduction of %s: %w", orderNo, err)
	}
	return n.Deducted == 1, n.Reserved == 1, nil
}

// Restock puts back the stock an order took, once, and only if it took any.
func (s *Service) Restock(ctx context.Context, orderNo string, lines []Line) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var taken int64
		if err := tx.Model(&StockDeduction{}).Where("order_no = ?", orderNo).Count(&taken).Error; err != nil {
			return fmt.Errorf("check deduction of %s: %w", orderNo, err)
		}
		if taken == 0 {
			return nil
		}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&StockReturn{OrderNo: orderNo})
		if res.Error != nil {
			return fmt.Errorf("record return of %s: %w", orderNo, res.Error)
		}
		if res.RowsAffected == 0 {
			return nil
		}
		for _, l := range Merge(lines) {
			err := tx.Model(&Product{}).Where("id = ?", l.ProductID).
				UpdateColumn("stock", gorm.Expr("stock + ?", l.Quantity)).Error
			if err != nil {
				return fmt.Errorf("restock product %d for %s: %w", l.ProductID, orderNo, err)
			}
		}
		return nil
	})
}

// Seed inserts products when the catalogue is empty and reports how many it
// added. API replicas that start together seed once: the count and the
// insert run in one transaction that, on PostgreSQL, first takes a
// transaction-level advisory lock of this schema (the second replica waits,
// then finds the products), and on SQLite takes the write lock up front
// (store.Open's BEGIN IMMEDIATE).
func (s *Service) Seed(ctx context.Context, products []Product) (int, error) {
	added := 0
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if tx.Dialector.Name() == "postgres" {
			if err := tx.Exec(seedLock).Error; err != nil {
				return fmt.Errorf("lock the seed: %w", err)
			}
		}
		var n int64
		if err := tx.Model(&Product{}).Count(&n).Error; err != nil {
			return fmt.Errorf("count products: %w", err)
		}
		if n > 0 {
			return nil
		}
		if err := tx.Create(&products).Error; err != nil {
			return fmt.Errorf("seed products: %w", err)
		}
		added = len(products)
		return nil
	})
	return added, err
}

// seedLock serialises seeds of one schema until their transaction ends.
const seedLock = "SELECT pg_advisory_xact_lock(hashtextextended('orderpay:seed:' || current_schema(), 0))"

// DemoProducts is the catalogue `make run` starts with: enough stock for a
// load test, and one membership product.
func DemoProducts() []Product {
	return []Product{
		{Name: "Yunnan Arabica Coffee Beans 500g", ImageURL: "https://img.example.com/coffee.jpg", PriceCents: 6800, Stock: 100000, Kind: KindGoods, Active: true},
		{Name: "Ceramic Pour-over Dripper", ImageURL: "https://img.example.com/dripper.jpg", PriceCents: 12900, Stock: 100000, Kind: KindGoods, Active: true},
		{Name: "Limited Edition Mug (flash sale)", ImageURL: "https://img.example.com/mug.jpg", PriceCents: 1, Stock: 100, Kind: KindGoods, Active: true},
		{Name: "Gold Membership (30 days)", ImageURL: "https://img.example.com/gold.png", PriceCents: 1990, Stock: 1000000, Kind: KindMembership, MembershipDays: 30, Active: true},
		{Name: "Wallet top-up ¥100", ImageURL: "https://img.example.com/topup.png", PriceCents: 10000, Stock: 1000000, Kind: KindRecharge, Active: true},
		{Name: "Coffee sample sachet (free)", ImageURL: "https://img.example.com/sample.jpg", PriceCents: 0, Stock: 1000, Kind: KindGoods, Active: true},
	}
}

// Merge sums the quantities of lines naming the same product and returns
// them sorted by product id.
func Merge(lines []Line) []Line {
	sum := make(map[uint]int64, len(lines))
	for _, l := range lines {
		sum[l.ProductID] += l.Quantity
	}
	out := make([]Line, 0, len(sum))
	for id, q := range sum {
		out = append(out, Line{ProductID: id, Quantity: q})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ProductID < out[j].ProductID })
	return out
}
