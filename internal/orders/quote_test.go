package orders_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/wallet"
)

func TestQuote(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	free := catalog.Product{Name: "Sample", PriceCents: 0, Stock: 5, Kind: catalog.KindGoods, Active: true}
	require.NoError(t, f.db.Create(&free).Error)

	q, err := f.svc.Quote(ctx, 7, []catalog.Line{{ProductID: f.coffee.ID, Quantity: 2}, {ProductID: f.gold.ID, Quantity: 1}}, contract.ChannelWeChatJSAPI)
	require.NoError(t, err)
	assert.Equal(t, &orders.Quote{AmountCents: 2*6800 + 1990, PayChannel: contract.ChannelWeChatJSAPI}, q, "price × quantity, summed")

	q, err = f.svc.Quote(ctx, 7, []catalog.Line{{ProductID: free.ID, Quantity: 1}}, contract.ChannelWeChatJSAPI)
	require.NoError(t, err)
	assert.Equal(t, &orders.Quote{AmountCents: 0, PayChannel: contract.ChannelFree}, q, "nothing to pay: the free channel")

	_, err = f.svc.Quote(ctx, 7, []catalog.Line{{ProductID: f.coffee.ID, Quantity: 1}}, contract.ChannelFree)
	require.ErrorIs(t, err, orders.ErrFreeForZeroOnly)
	assert.EqualError(t, err, "pay_channel free is only for zero-amount orders; this one is 6800 cents")

	_, err = f.svc.Quote(ctx, 7, []catalog.Line{{ProductID: f.dripper.ID, Quantity: 2}}, contract.ChannelWeChatJSAPI)
	assert.Equal(t, contract.ErrOutOfStock, contract.KindOf(err))
	_, err = f.svc.Quote(ctx, 7, []catalog.Line{{ProductID: 9999, Quantity: 1}}, contract.ChannelWeChatJSAPI)
	assert.Equal(t, contract.ErrUnknownProduct, contract.KindOf(err))

	_, err = wallet.NewService(f.db).Credit(ctx, 7, "TOPUP1", wallet.KindRecharge, 5000)
	require.NoError(t, err)
	_, err = f.svc.Quote(ctx, 7, []catalog.Line{{ProductID: f.coffee.ID, Quantity: 1}}, contract.ChannelBalance)
	var short *orders.ShortBalanceError
	require.True(t, errors.As(err, &short), "got %v", err)
	assert.Equal(t, contract.ErrInsufficientFunds, contract.KindOf(err))
	assert.EqualError(t, err, "wallet balance 5000 is less than the order amount 6800")
	q, err = f.svc.Quote(ctx, 7, []catalog.Line{{ProductID: f.gold.ID, Quantity: 2}}, contract.ChannelBalance)
	require.NoError(t, err)
	assert.Equal(t, &orders.Quote{AmountCents: 3980, PayChannel: contract.ChannelBalance}, q)
}

func TestPlaceDescribesTheOrder(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	res, err := f.svc.Place(ctx, contract.CreateOrderInput{OrderNo: "PLACE1", UserID: 7, PayChannel: contract.ChannelWeChatJSAPI,
		Lines: []contract.Line{{ProductID: f.coffee.ID, Quantity: 1}, {ProductID: f.gold.ID, Quantity: 1}}})
	require.NoError(t, err)
	assert.Equal(t, &contract.CreateOrderResult{UserID: 7, AmountCents: 6800 + 1990, Description: "Coffee Beans 500g and 1 more", Ships: true}, res,
		"any goods line ships")
	again, err := f.svc.Place(ctx, contract.CreateOrderInput{OrderNo: "PLACE1", UserID: 8, PayChannel: contract.ChannelWeChatJSAPI,
		Lines: []contract.Line{{ProductID: f.coffee.ID, Quantity: 1}}})
	require.NoError(t, err)
	assert.Equal(t, uint(7), again.UserID, "an order stored before answers with its own buyer, not the caller")
	member, err := f.svc.Place(ctx, contract.CreateOrderInput{OrderNo: "PLACE2", UserID: 7, PayChannel: contract.ChannelWeChatJSAPI,
		Lines: []contract.Line{{ProductID: f.gold.ID, Quantity: 1}}})
	require.NoError(t, err)
	assert.False(t, member.Ships, "a membership ships nothing")

	status, amount, err := f.svc.Summary(ctx, "PLACE1")
	require.NoError(t, err)
	assert.Equal(t, orders.StatusPending, status)
	assert.Equal(t, int64(8790), amount)
	_, _, err = f.svc.Summary(ctx, "NOSUCH")
	assert.ErrorIs(t, err, orders.ErrNotFound)
}

func TestKeyOrder(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	no, err := f.svc.ReserveKey(ctx, 7, "k1", "hash1", "ORDERK1")
	require.NoError(t, err)
	got, err := f.svc.KeyOrder(ctx, 7, "k1", "hash1")
	require.NoError(t, err)
	assert.Equal(t, no, got)
	_, err = f.svc.KeyOrder(ctx, 7, "k1", "other")
	assert.ErrorIs(t, err, orders.ErrNotFound, "a different request does not find the order")
	_, err = f.svc.KeyOrder(ctx, 8, "k1", "hash1")
	assert.ErrorIs(t, err, orders.ErrNotFound)
}
