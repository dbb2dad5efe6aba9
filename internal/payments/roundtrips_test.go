package payments_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/testenv"
	"github.com/shopflow/orderpay/internal/payments"
	"github.com/shopflow/orderpay/internal/providers"
)

// MarkPaid in its caller's transaction (CompletePaid's) is one statement on
// PostgreSQL: the attempt marked paid unless another transaction paid the
// order. It was two, a count of the order's other payments and then the
// UPDATE.
func TestMarkPaidRoundTripsOnPostgres(t *testing.T) {
	dsn, db := testenv.Postgres(t)
	ctx := context.Background()
	gw := &fakeGateway{channel: contract.ChannelWeChatJSAPI}
	_, err := payments.NewService(db, providers.MustRegistry(gw)).Prepay(ctx, 7, request(contract.ChannelWeChatJSAPI, time.Now().Add(time.Hour)))
	require.NoError(t, err)
	warm := request(contract.ChannelWeChatJSAPI, time.Now().Add(time.Hour))
	warm.OrderNo, warm.OutTradeNo = "WARM1", "WARM1"
	_, err = payments.NewService(db, providers.MustRegistry(gw)).Prepay(ctx, 7, warm)
	require.NoError(t, err)

	counted, rt := testenv.Counted(t, dsn)
	svc := payments.NewService(counted, providers.MustRegistry(gw))
	tx := counted.Session(&gorm.Session{DisableNestedTransaction: true})
	require.NoError(t, tx.Transaction(func(tx *gorm.DB) error {
		return svc.Within(tx).MarkPaid(ctx, payments.Paid{OrderNo: "WARM1", TransactionID: "tx-0", AmountCents: amount, PaidAt: time.Now()})
	}), "warm the connection: a statement is prepared once per connection")
	p := payments.Paid{OrderNo: orderNo, TransactionID: "tx-1", AmountCents: amount, PaidAt: time.Now()}
	err = counted.Session(&gorm.Session{DisableNestedTransaction: true}).Transaction(func(tx *gorm.DB) error {
		rt.Reset()
		defer func() {
			stmts := rt.Statements()
			assert.Equal(t, 1, len(stmts), "round trips of MarkPaid:\n%s", strings.Join(stmts, "\n"))
		}()
		return svc.Within(tx).MarkPaid(ctx, p)
	})
	require.NoError(t, err)
}

// The check that no other transaction paid the order, now inside the
// UPDATE, refuses a second attempt's payment on both databases, and lets a
// retry of the first through.
func TestMarkPaidConflictsOnBothDatabases(t *testing.T) {
	for name, open := range map[string]func(testing.TB) (string, *gorm.DB){"postgres": testenv.Postgres, "sqlite": testenv.SQLite} {
		t.Run(name, func(t *testing.T) {
			_, db := open(t)
			ctx := context.Background()
			svc := payments.NewService(db, providers.MustRegistry(&fakeGateway{channel: contract.ChannelWeChatJSAPI},
				&fakeGateway{channel: contract.ChannelWeChatNative}))
			_, err := svc.Prepay(ctx, 7, request(contract.ChannelWeChatJSAPI, time.Now().Add(time.Hour)))
			require.NoError(t, err)
			second := request(contract.ChannelWeChatNative, time.Now().Add(time.Hour))
			second.OutTradeNo = payments.TradeNo(orderNo, 2)
			_, err = svc.Prepay(ctx, 7, second)
			require.NoError(t, err)

			first := payments.Paid{OrderNo: orderNo, OutTradeNo: orderNo, TransactionID: "tx-1", AmountCents: amount, PaidAt: time.Now()}
			require.NoError(t, svc.MarkPaid(ctx, first))
			require.NoError(t, svc.MarkPaid(ctx, first), "a retry")
			err = svc.MarkPaid(ctx, payments.Paid{OrderNo: orderNo, OutTradeNo: second.OutTradeNo, TransactionID: "tx-2", AmountCents: amount, PaidAt: time.Now()})
			require.ErrorIs(t, err, payments.ErrConflictingPayment)
			got, err := svc.ByTradeNo(ctx, second.OutTradeNo)
			require.NoError(t, err)
			assert.Equal(t, payments.StatusUnpaid, got.Status)
			assert.Nil(t, got.TransactionID)
			err = svc.MarkPaid(ctx, payments.Paid{OrderNo: "NOPE", TransactionID: "tx-3"})
			assert.ErrorIs(t, err, payments.ErrNotFound)
		})
	}
}
