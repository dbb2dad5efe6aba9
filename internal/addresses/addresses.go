// Package addresses owns buyers' address books: each buyer keeps up to
// MaxPerBuyer delivery addresses, one of them the default. An order names
// an address by id, and its content is copied into the order as it is at
// that moment (Snapshot): editing or deleting the address later never
// changes an order.
package addresses

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/contract"
)

// Limits of an address book and its fields (in characters).
const (
	MaxPerBuyer = 20
	MaxName     = 64
	MaxPhone    = 20
	MaxRegion   = 100
	MaxDetail   = 200
)

var (
	// ErrNotFound means the buyer has no address with that id (another
	// buyer's addresses are not found either).
	ErrNotFound = contract.Kinded(contract.ErrNotFound, "address not found")
	// ErrBookFull refuses an address beyond MaxPerBuyer.
	ErrBookFull = &InvalidError{Reason: fmt.Sprintf("an address book holds at most %d addresses", MaxPerBuyer)}
)

// InvalidError refuses an address that breaks a rule; its kind is
// contract.ErrInvalidInput and Reason says which rule.
type InvalidError struct{ Reason string }

func (e *InvalidError) Error() string { return "invalid address: " + e.Reason }

// Kind is contract.ErrInvalidInput.
func (e *InvalidError) Kind() contract.ErrorKind { return contract.ErrInvalidInput }

// Address is one entry of a buyer's address book.
type Address struct {
	ID        uint      `gorm:"primaryKey" json:"id"`
	UserID    uint      `gorm:"not null;index" json:"-"`
	Name      string    `gorm:"size:64;not null" json:"name"`
	Phone     string    `gorm:"size:20;not null" json:"phone"`
	Region    string    `gorm:"size:100;not null" json:"region"`
	Detail    string    `gorm:"size:200;not null" json:"detail"`
	IsDefault bool      `gorm:"not null;default:false" json:"is_default"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Fields are an address's content as a buyer sends it; nil fields of an
// update stay as they are.
type Fields struct {
	Name      *string
	Phone     *string
	Region    *string
	Detail    *string
	IsDefault *bool
}

// Service reads and writes address books.
type Service struct{ db *gorm.DB }

// NewService returns an address service over db.
func NewService(db *gorm.DB) *Service { return &Service{db: db} }

// List returns a buyer's addresses, the default first, then newest first.
func (s *Service) List(ctx context.Context, userID uint) ([]Address, error) {
	as := []Address{}
	err := s.db.WithContext(ctx).Where("user_id = ?", userID).Order("is_default DESC, id DESC").Find(&as).Error
	if err != nil {
		return nil, fmt.Errorf("list addresses of %d: %w", userID, err)
	}
	return as, nil
}

// Get loads one of a buyer's addresses.
func (s *Service) Get(ctx context.Context, userID, id uint) (*Address, error) {
	return get(s.db.WithContext(ctx), userID, id)
}

func get(db *gorm.DB, userID, id uint) (*Address, error) {
	var a Address
	err := db.Where("id = ? AND user_id = ?", id, userID).Take(&a).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("%w: %d", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("load address %d: %w", id, err)
	}
	return &a, nil
}

// Create adds an address to a buyer's book. The first address is the
// default whatever was asked; a new default unsets the old one in the
// same transaction.
func (s *Service) Create(ctx context.Context, userID uint, f Fields) (*Address, error) {
	a := &Address{UserID: userID}
	apply(a, f)
	if err := check(a); err != nil {
		return nil, err
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := lockBook(tx, userID); err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&Address{}).Where("user_id = ?", userID).Count(&n).Error; err != nil {
			return fmt.Errorf("count addresses of %d: %w", userID, err)
		}
		if n >= MaxPerBuyer {
			return ErrBookFull
		}
		makeDefault := a.IsDefault || n == 0
		a.IsDefault = false
		if err := tx.Create(a).Error; err != nil {
			return fmt.Errorf("create address: %w", err)
		}
		if makeDefault {
			return setDefault(tx, a)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Update changes one of a buyer's addresses. Asking for is_default true
// makes it the default (the old one is unset in the same transaction);
// false is refused on the default itself, which stays until another
// address becomes the default.
func (s *Service) Update(ctx context.Context, userID, id uint, f Fields) (*Address, error) {
	var out *Address
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := lockBook(tx, userID); err != nil {
			return err
		}
		a, err := get(tx, userID, id)
		if err != nil {
			return err
		}
		wasDefault := a.IsDefault
		apply(a, f)
		if err := check(a); err != nil {
			return err
		}
		if wasDefault && !a.IsDefault {
			return &InvalidError{Reason: "the default address stays the default until another one is made the default"}
		}
		err = tx.Model(&Address{}).Where("id = ?", a.ID).Updates(map[string]any{
			"name": a.Name, "phone": a.Phone, "region": a.Region, "detail": a.Detail, "updated_at": time.Now().UTC(),
		}).Error
		if err != nil {
			return fmt.Errorf("update address %d: %w", id, err)
		}
		if a.IsDefault && !wasDefault {
			if err := setDefault(tx, a); err != nil {
				return err
			}
		}
		out, err = get(tx, userID, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Delete removes one of a buyer's addresses. When it was the default, the
// newest remaining address becomes the default.
func (s *Service) Delete(ctx context.Context, userID, id uint) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := lockBook(tx, userID); err != nil {
			return err
		}
		a, err := get(tx, userID, id)
		if err != nil {
			return err
		}
		if err := tx.Delete(&Address{}, a.ID).Error; err != nil {
			return fmt.Errorf("delete address %d: %w", id, err)
		}
		if !a.IsDefault {
			return nil
		}
		var next Address
		err = tx.Where("user_id = ?", userID).Order("id DESC").Take(&next).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("find the next default address of %d: %w", userID, err)
		}
		return setDefault(tx, &next)
	})
}

// Snapshot is the content of one of a buyer's addresses as an order keeps
// it: {"address_id","name","phone","region","detail"}.
func (s *Service) Snapshot(ctx context.Context, userID, id uint) (json.RawMessage, error) {
	a, err := s.Get(ctx, userID, id)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(map[string]any{
		"address_id": a.ID, "name": a.Name, "phone": a.Phone, "region": a.Region, "detail": a.Detail,
	})
	if err != nil {
		return nil, fmt.Errorf("snapshot address %d: %w", id, err)
	}
	return raw, nil
}

// setDefault makes a the only default of its buyer's book.
func setDefault(tx *gorm.DB, a *Address) error {
	err := tx.Model(&Address{}).Where("user_id = ? AND id <> ? AND is_default = ?", a.UserID, a.ID, true).
		UpdateColumn("is_default", false).Error
	if err != nil {
		return fmt.Errorf("unset the default address of %d: %w", a.UserID, err)
	}
	if err := tx.Model(&Address{}).Where("id = ?", a.ID).UpdateColumn("is_default", true).Error; err != nil {
		return fmt.Errorf("set the default address of %d: %w", a.UserID, err)
	}
	a.IsDefault = true
	return nil
}

// lockBook serializes the changes of one buyer's book: on PostgreSQL it
// locks the buyer's row for the transaction (SQLite transactions here take
// the write lock when they begin), so two requests never both make a
// default or both pass the size check.
func lockBook(tx *gorm.DB, userID uint) error {
	if tx.Dialector.Name() != "postgres" {
		return nil
	}
	if err := tx.Exec("SELECT id FROM users WHERE id = ? FOR UPDATE", userID).Error; err != nil {
		return fmt.Errorf("lock the address book of %d: %w", userID, err)
	}
	return nil
}

// apply copies the fields that were given, trimmed.
func apply(a *Address, f Fields) {
	for _, p := range []struct {
		dst *string
		v   *string
	}{{&a.Name, f.Name}, {&a.Phone, f.Phone}, {&a.Region, f.Region}, {&a.Detail, f.Detail}} {
		if p.v != nil {
			*p.dst = strings.TrimSpace(*p.v)
		}
	}
	if f.IsDefault != nil {
		a.IsDefault = *f.IsDefault
	}
}

// check applies the rules: name 1–64, phone 5–20 of digits, spaces, "+"
// and "-", region 1–100 and detail 1–200 characters, all valid UTF-8
// without control characters.
func check(a *Address) error {
	for _, f := range []struct {
		name  string
		value string
		max   int
	}{{"name", a.Name, MaxName}, {"phone", a.Phone, MaxPhone}, {"region", a.Region, MaxRegion}, {"detail", a.Detail, MaxDetail}} {
		if !utf8.ValidString(f.value) {
			return &InvalidError{Reason: f.name + " is not valid UTF-8"}
		}
		if strings.ContainsFunc(f.value, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return &InvalidError{Reason: f.name + " contains control characters"}
		}
		if n := utf8.RuneCountInString(f.value); n == 0 || n > f.max {
			return &InvalidError{Reason: fmt.Sprintf("%s must be 1 to %d characters", f.name, f.max)}
		}
	}
	digits := 0
	for _, r := range a.Phone {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' || r == '-' || r == ' ':
		default:
			return &InvalidError{Reason: "phone may hold only digits, spaces, + and -"}
		}
	}
	if digits < 5 {
		return &InvalidError{Reason: "phone must hold at least 5 digits"}
	}
	return nil
}
