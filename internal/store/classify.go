package store

import (
	"errors"
	"strings"

	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/contract"
)

// SQLite result codes that mean the value itself can never be stored.
const (
	sqliteTooBig          = 18  // SQLITE_TOOBIG: string or blob too big
	sqliteConstraintCheck = 275 // SQLITE_CONSTRAINT_CHECK: a CHECK constraint failed
)

// InvalidInputError is a database refusal of the values themselves: the
// same statement with the same values fails forever, so retrying it only
// delays the answer. It has kind contract.ErrInvalidInput (a business
// error: activities never retry it, the API answers 400) and wraps the
// driver's error.
type InvalidInputError struct{ Err error }

func (e *InvalidInputError) Error() string {
	return "the database refuses this input: " + e.Err.Error()
}

// Kind is contract.ErrInvalidInput.
func (e *InvalidInputError) Kind() contract.ErrorKind { return contract.ErrInvalidInput }

// Unwrap returns the driver's error.
func (e *InvalidInputError) Unwrap() error { return e.Err }

// Classify returns err as an *InvalidInputError when the database refused
// the values themselves — PostgreSQL SQLSTATE class 22 (data exceptions:
// 22021 invalid byte sequence, 22001 string too long, 22P02 invalid text
// representation, …) or 23514 (check violation); SQLite's "too big" and
// CHECK failures — and unchanged otherwise (connection trouble, deadlocks,
// serialisation failures and unique violations stay as they are).
func Classify(err error) error {
	if err == nil || contract.KindOf(err) != "" {
		return err
	}
	var pg interface{ SQLState() string }
	if errors.As(err, &pg) {
		if state := pg.SQLState(); strings.HasPrefix(state, "22") || state == "23514" {
			return &InvalidInputError{Err: err}
		}
		return err
	}
	var lite interface{ Code() int }
	if errors.As(err, &lite) {
		if code := lite.Code(); code == sqliteTooBig || code == sqliteConstraintCheck {
			return &InvalidInputError{Err: err}
		}
	}
	return err
}

// registerClassify makes every statement run through db report its error
// through Classify, so each service's writes are classified in this one
// place, whatever the service wraps around them.
func registerClassify(db *gorm.DB) error {
	classify := func(tx *gorm.DB) {
		if tx.Error != nil {
			tx.Error = Classify(tx.Error)
		}
	}
	cb := db.Callback()
	for name, err := range map[string]error{
		"create": cb.Create().Register("orderpay:classify_create", classify),
		"query":  cb.Query().Register("orderpay:classify_query", classify),
		"update": cb.Update().Register("orderpay:classify_update", classify),
		"delete": cb.Delete().Register("orderpay:classify_delete", classify),
		"row":    cb.Row().Register("orderpay:classify_row", classify),
		"raw":    cb.Raw().Register("orderpay:classify_raw", classify),
	} {
		if err != nil {
			return errors.New("register error classification on " + name + ": " + err.Error())
		}
	}
	return nil
}
