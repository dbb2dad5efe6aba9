package payments_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/testenv"
	"github.com/shopflow/orderpay/internal/payments"
	"github.com/shopflow/orderpay/internal/providers"
	"github.com/shopflow/orderpay/internal/wallet"
)

// A wallet prepay whose activity is retried after it did its work (the
// worker was killed before reporting the result, found by
// internal/devtools/faults TestWorkerKilled) must report the payment again — not the
// stored parameters, which say nothing about it — or the order waits for a
// notify that never comes while the buyer's money is gone. The debit is
// taken once.
func TestPrepayRetryOfWalletPaymentReportsItPaid(t *testing.T) {
	_, db := testenv.Postgres(t)
	w := wallet.NewService(db)
	svc := payments.NewService(db, providers.MustRegistry(wallet.NewProvider(w), providers.Free{}))
	ctx := context.Background()
	_, err := w.Credit(ctx, 7, "seed", wallet.KindRecharge, 20000)
	require.NoError(t, err)

	req := request(contract.ChannelBalance, time.Now().Add(time.Hour).Truncate(time.Second))
	req.UserID = 7
	first, err := svc.Prepay(ctx, 7, req)
	require.NoError(t, err)
	require.True(t, first.Paid)
	again, err := svc.Prepay(ctx, 7, req) // the retried activity
	require.NoError(t, err)
	assert.True(t, again.Paid, "the retry reports the payment")
	assert.Equal(t, first.TransactionID, again.TransactionID)

	bal, err := w.Balance(ctx, 7)
	require.NoError(t, err)
	assert.Equal(t, int64(20000)-amount, bal, "debited once")

	free := request(contract.ChannelFree, time.Now().Add(time.Hour))
	free.OrderNo, free.AmountCents, free.UserID = "ORDER2", 0, 7
	_, err = svc.Prepay(ctx, 7, free)
	require.NoError(t, err)
	again, err = svc.Prepay(ctx, 7, free)
	require.NoError(t, err)
	assert.True(t, again.Paid, "a free order retried is still settled")
}
