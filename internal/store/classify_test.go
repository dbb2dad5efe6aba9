package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/shopflow/orderpay/activities"
	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/testenv"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/store"
)

// An address that is not UTF-8 makes PostgreSQL refuse the order's insert
// with SQLSTATE 22021. That refusal is permanent: the CreateOrder activity
// must fail at once, non-retryably, with kind InvalidInput (before, it was
// retried for an hour while the buyer's request timed out with 504).
func TestPostgresInvalidByteSequenceIsNonRetryable(t *testing.T) {
	_, db := testenv.Postgres(t)
	ctx := context.Background()
	coffee := catalog.Product{Name: "Coffee", PriceCents: 6800, Stock: 5, Kind: catalog.KindGoods, Active: true}
	require.NoError(t, db.Create(&coffee).Error)

	acts := &activities.Activities{Orders: orders.NewService(db)}
	_, err := acts.CreateOrder(ctx, contract.CreateOrderInput{
		OrderNo: "BADUTF8", UserID: 7, PayChannel: contract.ChannelWeChatJSAPI,
		Address: []byte("{\"name\":\"Li \xff\xfe Lei\"}"), Lines: []contract.Line{{ProductID: coffee.ID, Quantity: 1}},
	})
	require.Error(t, err)
	var pgErr *pgconn.PgError
	require.True(t, errors.As(err, &pgErr), "the driver's error stays reachable: %v", err)
	assert.Equal(t, "22021", pgErr.Code)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "got %T %v", err, err)
	assert.True(t, appErr.NonRetryable())
	assert.Equal(t, string(contract.ErrInvalidInput), appErr.Type())
	assert.Contains(t, contract.BusinessErrorTypes(), appErr.Type(), "the workflow's retry policies never retry it")

	var n int64
	require.NoError(t, db.Table("orders").Count(&n).Error)
	assert.Zero(t, n, "nothing written")
	require.NoError(t, db.Table("items").Count(&n).Error)
	assert.Zero(t, n, "nothing written")
}

func TestClassify(t *testing.T) {
	for state, invalid := range map[string]bool{
		"22021": true,  // invalid byte sequence (not UTF-8, NUL)
		"22001": true,  // string too long
		"22P02": true,  // invalid text representation
		"23514": true,  // check violation
		"23505": false, // unique violation: callers decide
		"40001": false, // serialisation failure: retry
		"57P01": false, // admin shutdown: retry
		"08006": false, // connection failure: retry
	} {
		err := store.Classify(&pgconn.PgError{Code: state})
		if invalid {
			assert.Equal(t, contract.ErrInvalidInput, contract.KindOf(err), state)
		} else {
			assert.Empty(t, contract.KindOf(err), state)
		}
	}
	assert.NoError(t, store.Classify(nil))
	plain := errors.New("connection refused")
	assert.Same(t, plain, store.Classify(plain))
	assert.Equal(t, contract.ErrNotFound, contract.KindOf(store.Classify(orders.ErrNotFound)), "a kinded error keeps its kind")
}

// SQLite stores any bytes, but a CHECK constraint it refuses is permanent too.
func TestSQLiteCheckViolationIsInvalidInput(t *testing.T) {
	_, db := testenv.SQLite(t)
	err := db.Create(&catalog.Product{Name: "Broken", PriceCents: 100, Stock: -1, Kind: catalog.KindGoods, Active: true}).Error
	require.Error(t, err)
	assert.Equal(t, contract.ErrInvalidInput, contract.KindOf(err), "%v", err)
}
