// Package pagination holds the keyset cursors of the API's lists: a cursor
// names the last row of a page by its sort key (a time and a unique text
// key, or an id), so the next page starts strictly after it and rows added
// meanwhile never shift a page.
package pagination

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/shopflow/orderpay/internal/contract"
)

// Page sizes.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// ErrBadCursor refuses a cursor this service did not hand out (or one of
// another list). Its kind is contract.ErrInvalidInput.
var ErrBadCursor = contract.Kinded(contract.ErrInvalidInput, "invalid cursor")

// Cursor is the sort key of the last row of a page.
type Cursor struct {
	At  time.Time `json:"t"`
	Key string    `json:"k"`
}

// Encode makes the cursor opaque for clients (base64url of JSON).
func (c Cursor) Encode() string {
	raw, _ := json.Marshal(c) // a time and a string always encode
	return base64.RawURLEncoding.EncodeToString(raw)
}

// Decode reads a cursor made by Encode; "" is the first page (nil).
func Decode(s string) (*Cursor, error) {
	if s == "" {
		return nil, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(s) > 200 {
		return nil, ErrBadCursor
	}
	var c Cursor
	if err := json.Unmarshal(raw, &c); err != nil || c.At.IsZero() || c.Key == "" {
		return nil, ErrBadCursor
	}
	return &c, nil
}

// EncodeID is the cursor of a list sorted by a numeric id.
func EncodeID(id uint) string {
	return base64.RawURLEncoding.EncodeToString([]byte("id:" + strconv.FormatUint(uint64(id), 10)))
}

// DecodeID reads a cursor made by EncodeID; "" is the first page (0).
func DecodeID(s string) (uint, error) {
	if s == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) < 4 || string(raw[:3]) != "id:" {
		return 0, ErrBadCursor
	}
	id, err := strconv.ParseUint(string(raw[3:]), 10, 32)
	if err != nil || id == 0 {
		return 0, ErrBadCursor
	}
	return uint(id), nil
}

// Limit reads a page size: "" is DefaultLimit, else 1 to MaxLimit.
func Limit(s string) (int, error) {
	if s == "" {
		return DefaultLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxLimit {
		return 0, contract.Kinded(contract.ErrInvalidInput, fmt.Sprintf("limit must be 1 to %d", MaxLimit))
	}
	return n, nil
}
