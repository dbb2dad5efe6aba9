package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/api"
	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/rewards"
	"github.com/shopflow/orderpay/internal/wallet"
)

// seedOrder writes an order through the order service (the harness has
// no Temporal), then sets its status and creation time.
func (s *apiSystem) seedOrder(userID uint, orderNo string, productID uint, channel, status string, at time.Time) {
	s.t.Helper()
	_, err := orders.NewService(s.app.DB).Create(context.Background(), orders.NewOrder{
		OrderNo: orderNo, UserID: userID, PayChannel: channel,
		Lines: []catalog.Line{{ProductID: productID, Quantity: 2}},
	})
	require.NoError(s.t, err)
	require.NoError(s.t, s.app.DB.Model(&orders.Order{}).Where("order_no = ?", orderNo).
		Updates(map[string]any{"status": status, "created_at": at.UTC()}).Error)
}

// decode reads a JSON answer into v.
func decode[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(r.Body, &v), "body: %s", r.Body)
	return v
}

// pages follows next_cursor through every page of a list and returns the
// order numbers in the order they came.
func (s *apiSystem) orderPages(path, token string, limit int) []string {
	s.t.Helper()
	var seen []string
	cursor := ""
	for range 100 {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		res := s.do("GET", fmt.Sprintf("%s%slimit=%d&cursor=%s", path, sep, limit, url.QueryEscape(cursor)), token, nil)
		require.Equal(s.t, http.StatusOK, res.Status, "%s", res.Body)
		page := decode[api.OrderPage](s.t, res)
		require.LessOrEqual(s.t, len(page.Orders), limit)
		for _, o := range page.Orders {
			seen = append(seen, o.OrderNo)
		}
		if cursor = page.NextCursor; cursor == "" {
			return seen
		}
	}
	s.t.Fatal("too many pages")
	return nil
}

// A buyer lists their own orders, newest first, a page at a time: every
// order once, none of another buyer's; ties on created_at are broken by
// order number; status filters; a bad cursor, limit or status is 400.
func TestBuyerOrderList(t *testing.T) {
	s := newAPISystem(t)
	alice, aliceID := s.login("list-alice")
	bob, bobID := s.login("list-bob")
	coffee := s.productID("Coffee Beans")
	base := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	var want []string // newest first
	for i := range 23 {
		no := fmt.Sprintf("2026110110000000%06d", i)
		at := base.Add(time.Duration(i/3) * time.Minute) // three orders share each minute
		status := orders.StatusCompleted
		if i%4 == 0 {
			status = orders.StatusClosed
		}
		s.seedOrder(aliceID, no, coffee, "wechat_native", status, at)
		want = append([]string{no}, want...)
	}
	s.seedOrder(bobID, "20261101100000bob00001", coffee, "alipay_qr", orders.StatusCompleted, base.Add(time.Hour))

	got := s.orderPages("/api/v1/orders", alice, 5)
	assert.Equal(t, want, got, "every order once, newest first")
	assert.Equal(t, []string{"20261101100000bob00001"}, s.orderPages("/api/v1/orders", bob, 20))

	closed := s.orderPages("/api/v1/orders?status=closed", alice, 2)
	assert.Len(t, closed, 6)
	for _, no := range closed {
		assert.Contains(t, want, no)
	}

	res := s.do("GET", "/api/v1/orders?limit=1", alice, nil)
	page := decode[api.OrderPage](t, res)
	require.Len(t, page.Orders, 1)
	o := page.Orders[0]
	assert.Equal(t, want[0], o.OrderNo)
	assert.EqualValues(t, 13600, o.AmountCents)
	assert.EqualValues(t, 2, o.ItemCount)
	assert.Equal(t, "wechat_native", o.PayChannel)
	assert.Zero(t, o.UserID, "a buyer's list does not repeat their id")
	require.Len(t, o.Items, 1)
	assert.Equal(t, "Yunnan Arabica Coffee Beans 500g", o.Items[0].Name)
	assert.NotEmpty(t, page.NextCursor)

	for _, q := range []string{"limit=0", "limit=101", "limit=x", "cursor=nonsense", "cursor=" + url.QueryEscape("eyJ0IjoiMjAyNiJ9"), "status=shipped"} {
		res := s.do("GET", "/api/v1/orders?"+q, alice, nil)
		assert.Equal(t, http.StatusBadRequest, res.Status, "%s: %s", q, res.Body)
		code, _ := res.errorBody(t)
		assert.Equal(t, api.CodeBadRequest, code, q)
	}
	assert.Equal(t, http.StatusUnauthorized, s.do("GET", "/api/v1/orders", "", nil).Status)
}

// The catalogue: pages of products on sale without gaps or repeats, a
// product's detail, 404 for one off sale or unknown.
func TestProductsPagedAndDetail(t *testing.T) {
	s := newAPISystem(t)
	mug := s.productID("Mug")
	require.NoError(t, s.app.DB.Model(&catalog.Product{}).Where("id = ?", mug).Update("active", false).Error)

	var ids []uint
	cursor := ""
	for {
		res := s.do("GET", "/api/v1/products?limit=2&cursor="+cursor, "", nil)
		require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
		page := decode[struct {
			Products   []catalog.Product `json:"products"`
			NextCursor string            `json:"next_cursor"`
		}](t, res)
		for _, p := range page.Products {
			ids = append(ids, p.ID)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	assert.Len(t, ids, 5, "the six demo products but the mug off sale")
	assert.NotContains(t, ids, mug)

	res := s.do("GET", fmt.Sprintf("/api/v1/products/%d", ids[0]), "", nil)
	require.Equal(t, http.StatusOK, res.Status)
	p := decode[map[string]any](t, res)
	assert.EqualValues(t, ids[0], p["id"])
	assert.EqualValues(t, 6800, p["price"])
	for _, path := range []string{fmt.Sprintf("/api/v1/products/%d", mug), "/api/v1/products/999999", "/api/v1/products/abc"} {
		res := s.do("GET", path, "", nil)
		assert.Equal(t, http.StatusNotFound, res.Status, path)
		code, _ := res.errorBody(t)
		assert.Equal(t, api.CodeNotFound, code)
	}
	assert.Equal(t, http.StatusBadRequest, s.do("GET", "/api/v1/products?cursor=zzz", "", nil).Status)
	assert.Equal(t, http.StatusBadRequest, s.do("GET", "/api/v1/products?limit=500", "", nil).Status)
}

// GET /api/v1/me: points, membership, balance in cents and the latest 20
// entries of each ledger, newest first, the caller's own only.
func TestMe(t *testing.T) {
	s := newAPISystem(t)
	token, uid := s.login("me-buyer")
	_, otherID := s.login("me-other")
	ctx := context.Background()
	w := wallet.NewService(s.app.DB)
	for i := range 25 {
		_, err := w.Credit(ctx, uid, fmt.Sprintf("topup-%02d", i), wallet.KindRecharge, 100)
		require.NoError(t, err)
	}
	_, err := w.Credit(ctx, otherID, "other-topup", wallet.KindRecharge, 999)
	require.NoError(t, err)
	r := rewards.NewService(s.app.DB)
	coffee := s.productID("Coffee Beans")
	for i := range 3 {
		no := fmt.Sprintf("2026110110000000me%04d", i)
		s.seedOrder(uid, no, coffee, "wechat_native", orders.StatusPaid, time.Now())
		_, err := r.GrantOrder(ctx, rewards.Grant{OrderNo: no, UserID: uid, AmountCents: 13600, PointsPerYuan: 1, MembershipDays: 30})
		require.NoError(t, err)
	}

	res := s.do("GET", "/api/v1/me", token, nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	me := decode[api.MeView](t, res)
	assert.Equal(t, uid, me.UserID)
	assert.EqualValues(t, 3*136, me.Points)
	assert.EqualValues(t, 2500, me.BalanceCents)
	require.NotNil(t, me.MemberUntil)
	assert.True(t, me.Member)
	assert.WithinDuration(t, time.Now().AddDate(0, 0, 90), *me.MemberUntil, 2*time.Minute)
	require.Len(t, me.WalletLog, 20)
	assert.Equal(t, "topup-24", me.WalletLog[0].Ref, "newest first")
	assert.EqualValues(t, 2500, me.WalletLog[0].BalanceAfter)
	require.Len(t, me.PointsLog, 3)
	assert.EqualValues(t, 136, me.PointsLog[0].Points)

	other := decode[api.MeView](t, s.do("GET", "/api/v1/me", s.tokenFor("me-other"), nil))
	assert.EqualValues(t, 999, other.BalanceCents)
	assert.Nil(t, other.MemberUntil)
	assert.Empty(t, other.PointsLog)
	assert.Equal(t, http.StatusUnauthorized, s.do("GET", "/api/v1/me", "", nil).Status)
}

// tokenFor signs the buyer of a login code in again and returns the token.
func (s *apiSystem) tokenFor(code string) string {
	s.t.Helper()
	tok, _ := s.login(code)
	return tok
}
