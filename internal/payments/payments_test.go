package payments_test

import (
	"context"
	"errors"
	"sync"
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

// fakeGateway is a provider of one channel that counts its calls.
type fakeGateway struct {
	providers.InProcess               // no notifies
	channel                           string
	mu                                sync.Mutex
	prepays, queries, closes, refunds int
	prepayErr, closeErr               error
	trade                             *payments.Trade
	lastPrepay                        payments.PrepayRequest
}

func (g *fakeGateway) Prepay(_ context.Context, req payments.PrepayRequest) (*payments.PrepayResult, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.prepays++
	g.lastPrepay = req
	if g.prepayErr != nil {
		return nil, g.prepayErr
	}
	id := "prepay-" + req.Channel + "-" + string(rune('0'+g.prepays))
	return &payments.PrepayResult{
		Channel: req.Channel, PrepayID: id,
		Params:   map[string]string{"package": "prepay_id=" + id},
		ExpireAt: req.ExpireAt,
	}, nil
}

func (g *fakeGateway) Query(_ context.Context, outTradeNo string) (*payments.Trade, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.queries++
	if g.trade == nil {
		return &payments.Trade{OutTradeNo: outTradeNo, State: "NOTPAY"}, nil
	}
	t := *g.trade
	return &t, nil
}

func (g *fakeGateway) Close(context.Context, string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closes++
	return g.closeErr
}

func (g *fakeGateway) Refund(_ context.Context, req payments.RefundRequest) (*payments.RefundResult, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.refunds++
	return &payments.RefundResult{RefundNo: req.RefundNo, Status: payments.RefundSucceeded, RefundCents: req.RefundCents}, nil
}

func (g *fakeGateway) Name() string        { return "fake-" + g.channel }
func (g *fakeGateway) Channels() []string  { return []string{g.channel} }
func (g *fakeGateway) SettlesAtOnce() bool { return false }

func (g *fakeGateway) counts() (prepays, queries, closes int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.prepays, g.queries, g.closes
}

type fixture struct {
	db     *gorm.DB
	svc    *payments.Service
	jsapi  *fakeGateway
	native *fakeGateway
}

func setup(t *testing.T) *fixture {
	t.Helper()
	_, db := testenv.Postgres(t)
	f := &fixture{db: db, jsapi: &fakeGateway{channel: contract.ChannelWeChatJSAPI}, native: &fakeGateway{channel: contract.ChannelWeChatNative}}
	f.svc = payments.NewService(db, providers.MustRegistry(f.jsapi, f.native))
	return f
}

const (
	orderNo = "ORDER1"
	amount  = int64(13600)
	appID   = "wx-app"
	mchID   = "1900000001"
)

func request(channel string, expire time.Time) payments.PrepayRequest {
	return payments.PrepayRequest{
		OrderNo: orderNo, Channel: channel, Description: "Coffee",
		AmountCents: amount, OpenID: "openid-7", ExpireAt: expire,
	}
}

func (f *fixture) prepay(t *testing.T) *payments.PrepayResult {
	t.Helper()
	res, err := f.svc.Prepay(context.Background(), 7, request(contract.ChannelWeChatJSAPI, time.Now().Add(2*time.Hour).Truncate(time.Second)))
	require.NoError(t, err)
	return res
}

func (f *fixture) payment(t *testing.T) *payments.Payment {
	t.Helper()
	p, err := f.svc.Get(context.Background(), orderNo)
	require.NoError(t, err)
	return p
}

func TestPrepayStoresAndReusesParams(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	expire := time.Now().Add(2 * time.Hour).Truncate(time.Second)

	first, err := f.svc.Prepay(ctx, 7, request(contract.ChannelWeChatJSAPI, expire))
	require.NoError(t, err)
	assert.Equal(t, "openid-7", f.jsapi.lastPrepay.OpenID)

	p := f.payment(t)
	assert.Equal(t, payments.StatusUnpaid, p.Status)
	assert.Equal(t, amount, p.AmountCents)
	assert.Equal(t, uint(7), p.UserID)
	assert.Equal(t, first.PrepayID, p.PrepayID)
	assert.Equal(t, first.Params, p.Params())
	assert.True(t, expire.Equal(p.ExpireAt))

	// A retried activity or a repeated submit gets the stored parameters.
	for i := 0; i < 3; i++ {
		again, err := f.svc.Prepay(ctx, 7, request(contract.ChannelWeChatJSAPI, expire.Add(time.Minute)))
		require.NoError(t, err)
		assert.Equal(t, first.PrepayID, again.PrepayID)
		assert.Equal(t, first.Params, again.Params)
		assert.True(t, expire.Equal(again.ExpireAt))
	}
	prepays, _, _ := f.jsapi.counts()
	assert.Equal(t, 1, prepays, "the provider is asked once")
}

func TestPrepayAgainWhenExpired(t *testing.T) {
	f := setup(t)
	ctx := context.Background()

	_, err := f.svc.Prepay(ctx, 7, request(contract.ChannelWeChatJSAPI, time.Now().Add(-time.Minute)))
	require.NoError(t, err)
	fresh := time.Now().Add(time.Hour).Truncate(time.Second)
	res, err := f.svc.Prepay(ctx, 7, request(contract.ChannelWeChatJSAPI, fresh))
	require.NoError(t, err)

	prepays, _, _ := f.jsapi.counts()
	assert.Equal(t, 2, prepays)
	p := f.payment(t)
	assert.Equal(t, res.PrepayID, p.PrepayID, "the row holds the new parameters")
	assert.True(t, fresh.Equal(p.ExpireAt))
}

func TestPrepayNewAttemptOtherChannel(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	first := f.prepay(t)
	assert.Equal(t, orderNo, first.OutTradeNo, "the first attempt uses the order number")

	req := request(contract.ChannelWeChatNative, time.Now().Add(time.Hour).Truncate(time.Second))
	req.OutTradeNo = payments.TradeNo(orderNo, 2)
	res, err := f.svc.Prepay(ctx, 7, req)
	require.NoError(t, err)
	assert.Equal(t, "ORDER1_2", res.OutTradeNo)
	assert.Equal(t, contract.ChannelWeChatNative, res.Channel)
	assert.Equal(t, "ORDER1_2", f.native.lastPrepay.TradeNo())

	jsapi, _, _ := f.jsapi.counts()
	native, _, _ := f.native.counts()
	assert.Equal(t, 1, jsapi)
	assert.Equal(t, 1, native)

	latest := f.payment(t)
	assert.Equal(t, "ORDER1_2", latest.OutTradeNo)
	assert.Equal(t, 2, latest.Attempt)
	assert.Equal(t, contract.ChannelWeChatNative, latest.Channel)
	firstRow, err := f.svc.ByTradeNo(ctx, orderNo)
	require.NoError(t, err)
	assert.Equal(t, contract.ChannelWeChatJSAPI, firstRow.Channel, "the first attempt is kept")
	assert.Equal(t, 1, firstRow.Attempt)

	// Each attempt is queried through its own channel.
	_, err = f.svc.Query(ctx, "ORDER1_2")
	require.NoError(t, err)
	_, nq, _ := f.native.counts()
	_, jq, _ := f.jsapi.counts()
	assert.Equal(t, 1, nq)
	assert.Zero(t, jq)
}

func TestPrepayErrors(t *testing.T) {
	f := setup(t)
	ctx := context.Background()

	_, err := f.svc.Prepay(ctx, 7, request("alipay", time.Now().Add(time.Hour)))
	assert.ErrorIs(t, err, payments.ErrUnknownChannel)

	f.jsapi.prepayErr = payments.ErrProviderRejected
	_, err = f.svc.Prepay(ctx, 7, request(contract.ChannelWeChatJSAPI, time.Now().Add(time.Hour)))
	assert.ErrorIs(t, err, payments.ErrProviderRejected)
	_, err = f.svc.Get(ctx, orderNo)
	assert.ErrorIs(t, err, payments.ErrNotFound, "a failed prepay writes nothing")
}

func TestPrepayRefusedOncePaid(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.prepay(t)
	require.NoError(t, f.svc.MarkPaid(ctx, payments.Paid{OrderNo: orderNo, TransactionID: "tx-1", AmountCents: amount, PaidAt: time.Now()}))

	_, err := f.svc.Prepay(ctx, 7, request(contract.ChannelWeChatNative, time.Now().Add(time.Hour)))
	assert.ErrorIs(t, err, payments.ErrProviderRejected)
	// The same attempt again (a workflow task retried after it recorded
	// the payment): its parameters as they were, without asking WeChat.
	again, err := f.svc.Prepay(ctx, 7, request(contract.ChannelWeChatJSAPI, time.Now().Add(time.Hour)))
	require.NoError(t, err)
	assert.Equal(t, orderNo, again.OutTradeNo)
	assert.NotEmpty(t, again.Params)
	jsapi, _, _ := f.jsapi.counts()
	native, _, _ := f.native.counts()
	assert.Equal(t, 1, jsapi)
	assert.Zero(t, native)
}

func TestMarkPaidIdempotentByTransaction(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.prepay(t)
	paidAt := time.Date(2026, 1, 1, 10, 10, 0, 0, time.UTC)
	p := payments.Paid{OrderNo: orderNo, TransactionID: "tx-1", AmountCents: amount, PaidAt: paidAt, Source: "notify"}

	require.NoError(t, f.svc.MarkPaid(ctx, p))
	require.NoError(t, f.svc.MarkPaid(ctx, p), "the same transaction again is fine")

	row := f.payment(t)
	assert.Equal(t, payments.StatusPaid, row.Status)
	require.NotNil(t, row.TransactionID)
	assert.Equal(t, "tx-1", *row.TransactionID)
	assert.True(t, row.Verified)
	require.NotNil(t, row.PaidAt)
	assert.True(t, paidAt.Equal(*row.PaidAt))

	other := p
	other.TransactionID, other.PaidAt = "tx-2", paidAt.Add(time.Minute)
	err := f.svc.MarkPaid(ctx, other)
	require.ErrorIs(t, err, payments.ErrConflictingPayment)
	row = f.payment(t)
	assert.Equal(t, "tx-1", *row.TransactionID, "the first transaction stays")
	assert.True(t, paidAt.Equal(*row.PaidAt))
}

func TestMarkPaidUnknownOrder(t *testing.T) {
	f := setup(t)
	err := f.svc.MarkPaid(context.Background(), payments.Paid{OrderNo: "NOPE", TransactionID: "tx-1"})
	require.Error(t, err)
	var n int64
	require.NoError(t, f.db.Model(&payments.Payment{}).Count(&n).Error)
	assert.Zero(t, n, "nothing is written")
}

func TestMarkPaidSecondAttemptConflicts(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.prepay(t)
	req := request(contract.ChannelWeChatNative, time.Now().Add(time.Hour))
	req.OutTradeNo = payments.TradeNo(orderNo, 2)
	_, err := f.svc.Prepay(ctx, 7, req)
	require.NoError(t, err)

	require.NoError(t, f.svc.MarkPaid(ctx, payments.Paid{OrderNo: orderNo, OutTradeNo: orderNo, TransactionID: "tx-1", AmountCents: amount, PaidAt: time.Now()}))
	err = f.svc.MarkPaid(ctx, payments.Paid{OrderNo: orderNo, OutTradeNo: "ORDER1_2", TransactionID: "tx-2", AmountCents: amount, PaidAt: time.Now()})
	require.ErrorIs(t, err, payments.ErrConflictingPayment, "an order is paid once, whatever the attempt")
	second, err := f.svc.ByTradeNo(ctx, "ORDER1_2")
	require.NoError(t, err)
	assert.Equal(t, payments.StatusUnpaid, second.Status)
	assert.Nil(t, second.TransactionID)
}

func TestCloseUnpaid(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.prepay(t)

	require.NoError(t, f.svc.Close(ctx, orderNo))
	assert.Equal(t, payments.StatusClosed, f.payment(t).Status)
	require.NoError(t, f.svc.Close(ctx, orderNo), "closing again is harmless")
	_, _, closes := f.jsapi.counts()
	assert.Equal(t, 1, closes, "a closed order is not closed at the provider again")
}

func TestCloseNeverPrepaid(t *testing.T) {
	f := setup(t)
	require.NoError(t, f.svc.Close(context.Background(), orderNo))
	_, _, closes := f.jsapi.counts()
	assert.Zero(t, closes)
}

func TestCloseWhenPaid(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.prepay(t)
	require.NoError(t, f.svc.MarkPaid(ctx, payments.Paid{OrderNo: orderNo, TransactionID: "tx-1", AmountCents: amount, PaidAt: time.Now()}))

	require.ErrorIs(t, f.svc.Close(ctx, orderNo), payments.ErrAlreadyPaid)
	_, _, closes := f.jsapi.counts()
	assert.Zero(t, closes, "no need to ask the provider")
	assert.Equal(t, payments.StatusPaid, f.payment(t).Status)
}

func TestCloseProviderSaysPaid(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.prepay(t)
	f.jsapi.closeErr = payments.ErrAlreadyPaid

	require.ErrorIs(t, f.svc.Close(ctx, orderNo), payments.ErrAlreadyPaid)
	assert.Equal(t, payments.StatusUnpaid, f.payment(t).Status, "nothing changes")

	f.jsapi.closeErr = errors.New("connection reset")
	err := f.svc.Close(ctx, orderNo)
	require.Error(t, err)
	assert.NotErrorIs(t, err, payments.ErrAlreadyPaid)
	assert.Equal(t, payments.StatusUnpaid, f.payment(t).Status)
}

func TestQueryRoutesByStoredChannel(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	_, err := f.svc.Prepay(ctx, 7, request(contract.ChannelWeChatNative, time.Now().Add(time.Hour)))
	require.NoError(t, err)
	f.native.trade = &payments.Trade{OutTradeNo: orderNo, TransactionID: "tx-1", Paid: true, State: "SUCCESS", AmountCents: amount}

	tr, err := f.svc.Query(ctx, orderNo)
	require.NoError(t, err)
	assert.True(t, tr.Paid)
	assert.Equal(t, "tx-1", tr.TransactionID)
	_, nq, _ := f.native.counts()
	_, jq, _ := f.jsapi.counts()
	assert.Equal(t, 1, nq)
	assert.Zero(t, jq)

	_, err = f.svc.Query(ctx, "NOPE")
	assert.ErrorIs(t, err, payments.ErrNotFound)
}

func TestCheckNotify(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.prepay(t)
	paidAt := time.Date(2026, 1, 1, 10, 10, 0, 0, time.UTC)
	good := payments.Trade{
		OutTradeNo: orderNo, TransactionID: "tx-1", Paid: true, State: "SUCCESS",
		AmountCents: amount, PaidAt: paidAt, AppID: appID, MchID: mchID,
	}

	p, err := f.svc.CheckNotify(ctx, &good, providers.Merchant{AppID: appID, MchID: mchID})
	require.NoError(t, err)
	assert.Equal(t, payments.Paid{OrderNo: orderNo, OutTradeNo: orderNo, TransactionID: "tx-1", AmountCents: amount, PaidAt: paidAt, Source: "notify"}, *p)

	for name, mutate := range map[string]func(*payments.Trade){
		"amount":         func(t *payments.Trade) { t.AmountCents = amount - 1 },
		"appid":          func(t *payments.Trade) { t.AppID = "wx-other" },
		"mchid":          func(t *payments.Trade) { t.MchID = "1900000002" },
		"no transaction": func(t *payments.Trade) { t.TransactionID = "" },
	} {
		tr := good
		mutate(&tr)
		_, err := f.svc.CheckNotify(ctx, &tr, providers.Merchant{AppID: appID, MchID: mchID})
		assert.ErrorIs(t, err, payments.ErrNotifyMismatch, name)
	}

	// A closed, unpaid trade (Alipay TRADE_CLOSED) is its own case: acknowledged, never a payment.
	unpaid := good
	unpaid.Paid, unpaid.State = false, "TRADE_CLOSED"
	_, err = f.svc.CheckNotify(ctx, &unpaid, providers.Merchant{AppID: appID, MchID: mchID})
	assert.ErrorIs(t, err, payments.ErrTradeUnpaid)
	assert.NotErrorIs(t, err, payments.ErrNotifyMismatch)
	unpaid.MchID = "1900000002"
	_, err = f.svc.CheckNotify(ctx, &unpaid, providers.Merchant{AppID: appID, MchID: mchID})
	assert.ErrorIs(t, err, payments.ErrNotifyMismatch, "another merchant's closed trade is a mismatch")

	unknown := good
	unknown.OutTradeNo = "NOPE"
	_, err = f.svc.CheckNotify(ctx, &unknown, providers.Merchant{AppID: appID, MchID: mchID})
	assert.ErrorIs(t, err, payments.ErrNotFound)

	row := f.payment(t)
	assert.Equal(t, payments.StatusUnpaid, row.Status, "checking writes nothing")
	assert.Nil(t, row.TransactionID)

	// A notify repeating the recorded payment is recognised as such.
	require.NoError(t, f.svc.MarkPaid(ctx, *p))
	_, err = f.svc.CheckNotify(ctx, &good, providers.Merchant{AppID: appID, MchID: mchID})
	assert.ErrorIs(t, err, payments.ErrAlreadyRecorded)
}
