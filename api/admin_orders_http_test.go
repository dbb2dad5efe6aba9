package api_test

import (
	"context"
	"encoding/csv"
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
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payments"
)

// seededOrders writes 30 orders of three buyers over three days, channels
// and statuses varying, and returns them newest first with the buyers' ids.
type seeded struct {
	no      string
	user    uint
	channel string
	status  string
	at      time.Time
}

func (s *apiSystem) seedShop() ([]seeded, []uint) {
	s.t.Helper()
	var users []uint
	for _, code := range []string{"search-a", "search-b", "search-c"} {
		_, id := s.login(code)
		users = append(users, id)
	}
	coffee := s.productID("Coffee Beans")
	channels := []string{"wechat_native", "alipay_qr", "balance"}
	statuses := []string{orders.StatusCompleted, orders.StatusClosed, orders.StatusRefunded, orders.StatusAwaitingPayment, orders.StatusCompleted}
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var out []seeded
	for i := range 30 {
		o := seeded{
			no: fmt.Sprintf("2026110100000000%06d", i), user: users[i%3], channel: channels[i%3],
			status: statuses[i%5], at: base.Add(time.Duration(i) * 2 * time.Hour), // 12 a day: 1, 2 and 3 Nov
		}
		s.seedOrder(o.user, o.no, coffee, "wechat_native", o.status, o.at)
		require.NoError(s.t, s.app.DB.Model(&orders.Order{}).Where("order_no = ?", o.no).Update("pay_channel", o.channel).Error)
		out = append([]seeded{o}, out...)
	}
	return out, users
}

func pick(all []seeded, keep func(seeded) bool) []string {
	var out []string
	for _, o := range all {
		if keep(o) {
			out = append(out, o.no)
		}
	}
	return out
}

// Operators search every buyer's orders by status, buyer, channel, date
// range and order number, a page at a time without gaps or repeats;
// support, finance and admin may, buyers may not; bad filters are 400.
func TestAdminOrderSearch(t *testing.T) {
	s := newAPISystem(t)
	root, fin, sup := s.operators()
	all, users := s.seedShop()
	buyer, _ := s.login("search-a")

	nov2 := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	nov3 := nov2.AddDate(0, 0, 1)
	cases := map[string]struct {
		query string
		want  []string
	}{
		"everything": {"", pick(all, func(seeded) bool { return true })},
		"status":     {"status=closed", pick(all, func(o seeded) bool { return o.status == orders.StatusClosed })},
		"buyer":      {fmt.Sprintf("user_id=%d", users[1]), pick(all, func(o seeded) bool { return o.user == users[1] })},
		"channel":    {"channel=alipay_qr", pick(all, func(o seeded) bool { return o.channel == "alipay_qr" })},
		"one day":    {"from=2026-11-02&to=2026-11-02", pick(all, func(o seeded) bool { return !o.at.Before(nov2) && o.at.Before(nov3) })},
		"rfc 3339 range": {"from=" + url.QueryEscape("2026-11-02T08:00:00+08:00") + "&to=" + url.QueryEscape("2026-11-02T12:00:00Z"),
			pick(all, func(o seeded) bool { return !o.at.Before(nov2) && o.at.Before(nov2.Add(12*time.Hour)) })},
		"order number": {"order_no=" + all[7].no, []string{all[7].no}},
		"combined": {fmt.Sprintf("status=completed&channel=wechat_native&user_id=%d", users[0]),
			pick(all, func(o seeded) bool {
				return o.status == orders.StatusCompleted && o.channel == "wechat_native" && o.user == users[0]
			})},
	}
	for name, c := range cases {
		require.NotEmpty(t, c.want, name)
		got := s.orderPages("/api/v1/admin/orders?"+c.query, sup, 4)
		assert.Equal(t, c.want, got, name)
	}
	page := decode[api.OrderPage](t, s.do("GET", "/api/v1/admin/orders?limit=1", fin, nil))
	require.Len(t, page.Orders, 1)
	assert.Equal(t, all[0].user, page.Orders[0].UserID, "operators see the buyer")
	assert.Equal(t, all[0].channel, page.Orders[0].PayChannel)

	for _, q := range []string{"status=lost", "user_id=abc", "user_id=-1", "from=yesterday", "to=2026-13-01",
		"from=2026-11-03&to=2026-11-01", "limit=0", "limit=1000", "cursor=xyz"} {
		res := s.do("GET", "/api/v1/admin/orders?"+q, root, nil)
		assert.Equal(t, http.StatusBadRequest, res.Status, "%s: %s", q, res.Body)
	}
	assert.Equal(t, http.StatusForbidden, s.do("GET", "/api/v1/admin/orders", buyer, nil).Status)
	assert.Equal(t, http.StatusUnauthorized, s.do("GET", "/api/v1/admin/orders", "", nil).Status)
	audit := s.auditPage(root, "?action=order.list&limit=1")
	require.Len(t, audit.Entries, 1)
	assert.Equal(t, "refused", audit.Entries[0].Outcome, "the last search was refused")
}

// The CSV export streams every order the filters select, newest first,
// with amounts in cents and RFC 3339 times; cells a spreadsheet would run
// as formulas are defused with a leading quote.
func TestAdminOrderExportCSV(t *testing.T) {
	s := newAPISystem(t)
	root, fin, sup := s.operators()
	all, users := s.seedShop()
	buyer, _ := s.login("search-a")

	// A product and a reason made to be formulas in a spreadsheet.
	evil, err := catalog.NewService(s.app.DB).Create(context.Background(),
		catalog.Product{Name: `=HYPERLINK("http://evil.example","click")`, PriceCents: 100, Stock: 10, Active: true})
	require.NoError(t, err)
	s.seedOrder(users[2], "20261104000000evil0001", evil.ID, "wechat_native", orders.StatusClosed, time.Date(2026, 11, 4, 0, 0, 0, 0, time.UTC))
	require.NoError(t, s.app.DB.Model(&orders.Order{}).Where("order_no = ?", "20261104000000evil0001").
		Update("status_reason", "+cmd|' /C calc'!A0").Error)

	read := func(token, query string) [][]string {
		t.Helper()
		res := s.do("GET", "/api/v1/admin/orders.csv?"+query, token, nil)
		require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
		assert.Equal(t, "text/csv; charset=utf-8", res.Header.Get("Content-Type"))
		assert.Contains(t, res.Header.Get("Content-Disposition"), "attachment")
		rows, err := csv.NewReader(strings.NewReader(string(res.Body))).ReadAll()
		require.NoError(t, err)
		return rows
	}
	rows := read(sup, "")
	require.Len(t, rows, 1+31)
	assert.Equal(t, []string{"order_no", "user_id", "status", "status_reason", "pay_channel", "amount",
		"points_awarded", "items", "created_at", "paid_at", "completed_at", "closed_at"}, rows[0])
	evilRow := rows[1]
	assert.Equal(t, "20261104000000evil0001", evilRow[0])
	assert.Equal(t, `'=HYPERLINK("http://evil.example","click") x2`, evilRow[7])
	assert.Equal(t, `'+cmd|' /C calc'!A0`, evilRow[3])
	assert.Equal(t, "200", evilRow[5], "amount in cents")
	assert.Equal(t, "2026-11-04T00:00:00Z", evilRow[8])
	for i, o := range all {
		assert.Equal(t, o.no, rows[2+i][0])
		assert.Equal(t, fmt.Sprint(o.user), rows[2+i][1])
		assert.Equal(t, "13600", rows[2+i][5])
	}

	filtered := read(fin, fmt.Sprintf("status=completed&user_id=%d&limit=1", users[0]))
	want := pick(all, func(o seeded) bool { return o.status == orders.StatusCompleted && o.user == users[0] })
	require.Len(t, filtered, 1+len(want), "the export ignores limit and holds every match")
	for i, no := range want {
		assert.Equal(t, no, filtered[1+i][0])
	}

	res := s.do("GET", "/api/v1/admin/orders.csv?status=lost", root, nil)
	assert.Equal(t, http.StatusBadRequest, res.Status)
	code, _ := res.errorBody(t)
	assert.Equal(t, api.CodeBadRequest, code)
	assert.Equal(t, http.StatusForbidden, s.do("GET", "/api/v1/admin/orders.csv", buyer, nil).Status)
	audit := s.auditPage(root, "?action=order.export")
	assert.Len(t, audit.Entries, 3, "support's, finance's and the refused export (a buyer's token identifies no admin)")
}

// An order's detail holds every payment attempt and refund; the refunds
// list filters by order and status, a page at a time.
func TestAdminOrderDetailAndRefunds(t *testing.T) {
	s := newAPISystem(t)
	_, fin, sup := s.operators()
	_, uid := s.login("detail-buyer")
	buyer := s.tokenFor("detail-buyer")
	coffee := s.productID("Coffee Beans")
	now := time.Now().UTC()
	db := s.app.DB
	for i := range 3 {
		no := fmt.Sprintf("2026110100000000det%03d", i)
		s.seedOrder(uid, no, coffee, "wechat_native", orders.StatusCompleted, now.Add(-time.Duration(3-i)*time.Hour))
		tx := fmt.Sprintf("wx-tx-%d", i)
		require.NoError(t, db.Create(&payments.Payment{OrderNo: no, OutTradeNo: no, Attempt: 1, UserID: uid, Channel: "alipay_qr",
			AmountCents: 13600, Status: payments.StatusClosed, ExpireAt: now}).Error)
		require.NoError(t, db.Create(&payments.Payment{OrderNo: no, OutTradeNo: no + "_2", Attempt: 2, UserID: uid, Channel: "wechat_native",
			AmountCents: 13600, Status: payments.StatusPaid, TransactionID: &tx, Verified: true, ExpireAt: now, PaidAt: &now}).Error)
		for j, status := range []string{payments.RefundSucceeded, payments.RefundFailed} {
			require.NoError(t, db.Create(&payments.Refund{RefundNo: fmt.Sprintf("RF-%d-%d", i, j), OrderNo: no, OutTradeNo: no + "_2",
				Channel: "wechat_native", AmountCents: 100, TotalCents: 13600, Status: status, Kind: "order",
				CreatedAt: now.Add(time.Duration(i*2+j) * time.Minute)}).Error)
		}
	}
	no := "2026110100000000det001"
	res := s.do("GET", "/api/v1/admin/orders/"+no, sup, nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	v := decode[api.AdminOrderView](t, res)
	assert.Equal(t, no, v.OrderNo)
	assert.Equal(t, uid, v.UserID)
	require.Len(t, v.Payments, 2)
	assert.Equal(t, "alipay_qr", v.Payments[0].Channel)
	assert.Equal(t, "wx-tx-1", v.Payments[1].TransactionID)
	require.Len(t, v.Refunds, 2)
	assert.Equal(t, "RF-1-0", v.Refunds[0].RefundNo)
	assert.EqualValues(t, 100, v.Refunds[0].AmountCents)
	assert.Equal(t, "wechat_native", v.Payment.Channel, "the order view's payment is there too")
	// The buyer's own view is unchanged: no list of attempts or refunds.
	mine := decode[map[string]any](t, s.do("GET", "/api/v1/orders/"+no, buyer, nil))
	assert.NotContains(t, mine, "payments")
	assert.NotContains(t, mine, "refunds")

	type refundPage struct {
		Refunds    []payments.Refund `json:"refunds"`
		NextCursor string            `json:"next_cursor"`
	}
	var seen []string
	cursor := ""
	for {
		res := s.do("GET", "/api/v1/admin/refunds?limit=4&cursor="+cursor, fin, nil)
		require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
		p := decode[refundPage](t, res)
		for _, r := range p.Refunds {
			seen = append(seen, r.RefundNo)
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	assert.Equal(t, []string{"RF-2-1", "RF-2-0", "RF-1-1", "RF-1-0", "RF-0-1", "RF-0-0"}, seen, "newest first, each once")
	failed := decode[refundPage](t, s.do("GET", "/api/v1/admin/refunds?status=failed&order_no="+no, sup, nil))
	require.Len(t, failed.Refunds, 1)
	assert.Equal(t, "RF-1-1", failed.Refunds[0].RefundNo)
	assert.Equal(t, http.StatusBadRequest, s.do("GET", "/api/v1/admin/refunds?status=lost", sup, nil).Status)
	assert.Equal(t, http.StatusBadRequest, s.do("GET", "/api/v1/admin/refunds?cursor=abc", sup, nil).Status)
	assert.Equal(t, http.StatusForbidden, s.do("GET", "/api/v1/admin/refunds", buyer, nil).Status)
}

// An operator's refund is recorded before its workflow starts. When
// Temporal does not answer the start (here: nothing listens at its
// address), the answer is still 202 with the pending record, not an error
// that would have the operator record a second refund: the reconciliation
// starts its workflow (platform.RefundStarter.Resume). A retry with the
// same refund_no answers the same record.
func TestAdminRefundRecordedWhenTemporalDoesNotAnswer(t *testing.T) {
	s := newAPISystem(t, "REQUEST_TIMEOUT", "2s")
	_, fin, _ := s.operators()
	_, uid := s.login("refund-buyer")
	no := "2026120100000000rfd001"
	s.seedOrder(uid, no, s.productID("Coffee Beans"), "wechat_native", orders.StatusCompleted, time.Now())
	tx, now := "wx-tx-rfd", time.Now().UTC()
	require.NoError(t, s.app.DB.Create(&payments.Payment{OrderNo: no, OutTradeNo: no, Attempt: 1, UserID: uid, Channel: "wechat_native",
		AmountCents: 13600, Status: payments.StatusPaid, TransactionID: &tx, Verified: true, ExpireAt: now, PaidAt: &now}).Error)

	for range 2 {
		res := s.do("POST", "/api/v1/admin/orders/"+no+"/refund", fin, map[string]any{"amount": 500, "refund_no": "RF-UNANSWERED", "reason": "damaged"})
		require.Equal(t, http.StatusAccepted, res.Status, "%s", res.Body)
		r := decode[payments.Refund](t, res)
		assert.Equal(t, "RF-UNANSWERED", r.RefundNo)
		assert.Equal(t, payments.RefundStatusPending, r.Status)
		assert.EqualValues(t, 500, r.AmountCents)
	}
	var n int64
	require.NoError(t, s.app.DB.Model(&payments.Refund{}).Where("order_no = ?", no).Count(&n).Error)
	assert.EqualValues(t, 1, n, "one refund recorded")

	unsent, err := payments.NewService(s.app.DB, nil).UnsentRefunds(context.Background(), time.Time{}, time.Now().Add(time.Minute), 10)
	require.NoError(t, err)
	require.Len(t, unsent, 1, "the reconciliation finds it")
	assert.Equal(t, contract.RefundInput{RefundNo: "RF-UNANSWERED", OrderNo: no, AmountCents: 500, Reason: "damaged"}, unsent[0])
}
