package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/shopflow/orderpay/internal/baidu"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/alipaysb"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/baidusb"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/wechatv2sb"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payments"
	"github.com/shopflow/orderpay/workflows"
)

// openCashier does what the buyer's browser or app does before paying:
// Alipay's wap/page URL is opened (the cashier creates the trade).
func (s *system) openCashier(pay map[string]any) {
	s.t.Helper()
	if u, ok := pay["pay_url"].(string); ok {
		res := s.do("GET", u, "", nil)
		require.Equal(s.t, 200, res.Status, "cashier page: %s", res.Body)
	}
}

// Every channel family: prepay → sandbox pay → signed notify in the
// provider's own format → completed; then an operator refund with its
// refund notify (or synchronous answer) → refunded, stock returned, points
// taken back.
func TestEveryChannelPaysAndRefunds(t *testing.T) {
	s := startSystem(t, options{})
	token, _ := s.login("code-channels")
	admin := s.admin
	channels := []struct {
		channel string
		param   string // the pay parameter the client gets
	}{
		{contract.ChannelWeChatJSAPI, "paySign"},
		{contract.ChannelWeChatNative, "code_url"},
		{contract.ChannelWeChatH5, "h5_url"},
		{contract.ChannelWeChatV2JSAPI, "paySign"},
		{contract.ChannelWeChatV2Native, "code_url"},
		{contract.ChannelAlipayQR, "qr_code"},
		{contract.ChannelAlipayWap, "pay_url"},
		{contract.ChannelAlipayPage, "pay_url"},
		{contract.ChannelBaidu, "rsaSign"},
	}
	for _, ch := range channels {
		t.Run(ch.channel, func(t *testing.T) {
			stock := s.stock(coffeeID)
			res := s.placeOrder(token, coffeeID, 1, ch.channel)
			require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
			created := res.JSON(t)
			orderNo := created["order_no"].(string)
			pay := created["pay"].(map[string]any)
			require.NotEmpty(t, pay[ch.param], "pay params: %v", pay)
			s.openCashier(pay)

			paid := s.sandboxPay(orderNo)
			require.Equal(t, 200, paid.Status, string(paid.Body))
			done := s.awaitStatus(token, orderNo, orders.StatusCompleted)
			assert.EqualValues(t, 68, done["points_awarded"])
			assert.Equal(t, stock-1, s.stock(coffeeID))

			refund := s.api("POST", "/api/v1/admin/orders/"+orderNo+"/refund", admin, map[string]any{"reason": "customer returned it"})
			require.Equal(t, http.StatusAccepted, refund.Status, string(refund.Body))
			refundNo := refund.JSON(t)["refund_no"].(string)
			s.awaitStatus(token, orderNo, orders.StatusRefunded)
			r := s.api("GET", "/api/v1/admin/refunds/"+refundNo, admin, nil).JSON(t)
			assert.Equal(t, payments.RefundSucceeded, r["status"])
			assert.EqualValues(t, 6800, r["amount"])
			assert.Equal(t, stock, s.stock(coffeeID), "a full refund returns the stock")

			again := s.api("POST", "/api/v1/admin/orders/"+orderNo+"/refund", admin, map[string]any{"amount": 1})
			assert.Equal(t, http.StatusConflict, again.Status, "nothing left to refund: %s", again.Body)
		})
	}
}

func TestPartialRefundTakesBackPointsInProportion(t *testing.T) {
	s := startSystem(t, options{})
	token, userID := s.login("code-partial")
	orderNo := s.payAndComplete(token, coffeeID, 2, contract.ChannelWeChatNative) // 13600 cents, 136 points
	stock := s.stock(coffeeID)

	user := s.api("POST", "/api/v1/admin/orders/"+orderNo+"/refund", token, map[string]any{"amount": 3400})
	assert.Equal(t, http.StatusForbidden, user.Status, "buyers cannot refund")

	// Refunds take the finance role: support reads, and is refused.
	for name, role := range map[string]string{"fin": "finance", "sup": "support"} {
		res := s.api("POST", "/api/v1/admin/admins", s.admin, map[string]any{"username": name, "password": name + "-password-1", "role": role})
		require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	}
	fin, sup := s.adminLogin("fin", "fin-password-1"), s.adminLogin("sup", "sup-password-1")
	denied := s.api("POST", "/api/v1/admin/orders/"+orderNo+"/refund", sup, map[string]any{"amount": 3400})
	assert.Equal(t, http.StatusForbidden, denied.Status, "support cannot refund: %s", denied.Body)

	refund := s.api("POST", "/api/v1/admin/orders/"+orderNo+"/refund", fin, map[string]any{"amount": 3400, "refund_no": "RF-PARTIAL-1"})
	require.Equal(t, http.StatusAccepted, refund.Status, string(refund.Body))
	repeat := s.api("POST", "/api/v1/admin/orders/"+orderNo+"/refund", fin, map[string]any{"amount": 3400, "refund_no": "RF-PARTIAL-1"})
	require.Equal(t, http.StatusAccepted, repeat.Status, "same refund_no is the same refund: %s", repeat.Body)
	s.awaitStatus(token, orderNo, orders.StatusPartiallyRefunded)

	var points int64
	require.NoError(t, s.app.DB.Table("users").Select("points").Where("id = ?", uint(userID)).Scan(&points).Error)
	assert.EqualValues(t, 136-34, points, "a quarter refunded takes back a quarter of the points")
	assert.Equal(t, stock, s.stock(coffeeID), "a partial refund keeps the goods with the buyer")
	assert.EqualValues(t, 1, s.count("refunds", "order_no = ?", orderNo))

	tooMuch := s.api("POST", "/api/v1/admin/orders/"+orderNo+"/refund", s.admin, map[string]any{"amount": 10201})
	assert.Equal(t, http.StatusConflict, tooMuch.Status, string(tooMuch.Body))
	assert.Equal(t, http.StatusOK, s.api("GET", "/api/v1/admin/orders/"+orderNo, sup, nil).Status, "support reads any order")

	// The audit log has each attempt, with its outcome.
	res := s.api("GET", "/api/v1/admin/audit?action=refund.create&order_no="+orderNo, s.admin, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	var page struct {
		Entries []struct {
			Username string `json:"username"`
			RefundNo string `json:"refund_no"`
			Outcome  string `json:"outcome"`
			IP       string `json:"ip"`
			Detail   string `json:"detail"`
			Status   int    `json:"status"`
		} `json:"entries"`
	}
	require.NoError(t, json.Unmarshal(res.Body, &page))
	var got []string
	for _, e := range page.Entries {
		got = append(got, fmt.Sprintf("%s %s %d %s", e.Username, e.Outcome, e.Status, e.RefundNo))
		assert.Equal(t, "127.0.0.1", e.IP)
	}
	assert.Equal(t, []string{"root refused 409 ", "fin ok 202 RF-PARTIAL-1", "fin ok 202 RF-PARTIAL-1", "sup denied 403 "}, got)
	assert.Contains(t, page.Entries[1].Detail, "amount=3400")
}

// A payment whose notify never arrives is found by the reconciliation
// workflow (the Schedule's action) and completes the order.
func TestReconciliationFindsLostNotify(t *testing.T) {
	s := startSystem(t, options{})
	token, _ := s.login("code-lost")
	res := s.placeOrder(token, coffeeID, 1, contract.ChannelAlipayQR)
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	orderNo := res.JSON(t)["order_no"].(string)
	require.Equal(t, 200, s.sandboxPay(orderNo, "silent").Status)
	assert.Equal(t, orders.StatusAwaitingPayment, s.order(token, orderNo)["status"], "no notify: nothing known yet")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := s.app.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: s.app.Config.TaskQueue},
		workflows.ReconcileWorkflow, contract.ReconcileInput{OlderThan: time.Nanosecond})
	require.NoError(t, err)
	var out contract.ReconcileResult
	require.NoError(t, run.Get(ctx, &out))
	assert.Equal(t, []string{orderNo}, out.FoundPaid)
	done := s.awaitStatus(token, orderNo, orders.StatusCompleted)
	assert.Equal(t, true, done["payment"].(map[string]any)["verified"])
}

// Forged and mismatched notifies in every provider format: rejected in the
// provider's own reply format, nothing changes.
func TestForgedNotifiesPerProvider(t *testing.T) {
	s := startSystem(t, options{})
	token, _ := s.login("code-forged")
	place := func(channel string) string {
		res := s.placeOrder(token, coffeeID, 1, channel)
		require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
		return res.JSON(t)["order_no"].(string)
	}

	t.Run("wechat v2 xml", func(t *testing.T) {
		orderNo := place(contract.ChannelWeChatV2Native)
		cr, err := wechatv2sb.LoadCredentials(s.stateDir)
		require.NoError(t, err)
		params := map[string]string{"return_code": "SUCCESS", "result_code": "SUCCESS", "appid": cr.AppID, "mch_id": cr.MchID,
			"nonce_str": "n1", "openid": "o1", "trade_type": "NATIVE", "bank_type": "OTHERS", "total_fee": "1",
			"cash_fee": "1", "transaction_id": "4200000000000000001", "out_trade_no": orderNo, "time_end": time.Now().Format("20060102150405")}
		params["sign"] = wechatv2sb.Sign(cr.APIKey, wechatv2sb.SignTypeMD5, params)
		wrongAmount := s.do("POST", s.apiURL+"/api/v1/notify/wechatpay/v2", "", wechatv2sb.EncodeXML(params))
		assert.Equal(t, http.StatusBadRequest, wrongAmount.Status, string(wrongAmount.Body))
		assert.Contains(t, string(wrongAmount.Body), "<return_code><![CDATA[FAIL]]></return_code>")
		params["total_fee"] = "6800"
		params["sign"] = "0123456789ABCDEF0123456789ABCDEF" // forged
		forged := s.do("POST", s.apiURL+"/api/v1/notify/wechatpay/v2", "", wechatv2sb.EncodeXML(params))
		assert.Equal(t, http.StatusUnauthorized, forged.Status, string(forged.Body))
		assert.Contains(t, string(forged.Body), "FAIL")
		assert.Equal(t, orders.StatusAwaitingPayment, s.order(token, orderNo)["status"])
	})

	t.Run("alipay form", func(t *testing.T) {
		orderNo := place(contract.ChannelAlipayQR)
		cr, err := alipaysb.LoadCredentials(s.stateDir)
		require.NoError(t, err)
		key, err := cr.AlipayPrivateRSA()
		require.NoError(t, err)
		params := map[string]string{"notify_id": "n1", "notify_type": "trade_status_sync", "notify_time": time.Now().Format("2006-01-02 15:04:05"),
			"app_id": cr.AppID, "charset": "utf-8", "version": "1.0", "sign_type": "RSA2", "trade_no": "2026000000001",
			"out_trade_no": orderNo, "trade_status": "TRADE_SUCCESS", "total_amount": "0.01", "receipt_amount": "0.01",
			"seller_id": cr.SellerID, "gmt_payment": time.Now().Format("2006-01-02 15:04:05")}
		params["sign"], err = alipaysb.SignRSA2(alipaysb.NotifyContent(params), key)
		require.NoError(t, err)
		wrongAmount := s.do("POST", s.apiURL+"/api/v1/notify/alipay", "", form(params), "Content-Type", "application/x-www-form-urlencoded")
		assert.Equal(t, http.StatusBadRequest, wrongAmount.Status, string(wrongAmount.Body))
		assert.Equal(t, "failure", string(wrongAmount.Body))
		params["total_amount"] = "68.00" // right amount, but the signature no longer matches
		forged := s.do("POST", s.apiURL+"/api/v1/notify/alipay", "", form(params), "Content-Type", "application/x-www-form-urlencoded")
		assert.Equal(t, http.StatusUnauthorized, forged.Status, string(forged.Body))
		assert.Equal(t, "failure", string(forged.Body))
		assert.Equal(t, orders.StatusAwaitingPayment, s.order(token, orderNo)["status"])
	})

	t.Run("baidu form", func(t *testing.T) {
		orderNo := place(contract.ChannelBaidu)
		cr, err := baidusb.LoadCredentials(s.stateDir)
		require.NoError(t, err)
		key, err := baidu.ParsePrivateKey(cr.PlatformPrivateKeyPEM)
		require.NoError(t, err)
		params := map[string]string{"unitPrice": "1", "orderId": "900001", "payMoney": "1", "dealId": cr.DealID, "userId": "42",
			"count": "1", "totalMoney": "1", "tpOrderId": orderNo, "status": "2", "payType": "1087", "partnerId": "6000001",
			"payTime": strconv.FormatInt(time.Now().Unix(), 10), "returnData": "", "promoDetail": ""}
		params["rsaSign"], err = baidu.SignWithKey(key, params)
		require.NoError(t, err)
		wrongAmount := s.do("POST", s.apiURL+"/api/v1/notify/baidu", "", form(params), "Content-Type", "application/x-www-form-urlencoded")
		assert.Equal(t, http.StatusBadRequest, wrongAmount.Status, string(wrongAmount.Body))
		assert.NotEqual(t, float64(0), wrongAmount.JSON(t)["errno"])
		params["totalMoney"] = "6800"
		forged := s.do("POST", s.apiURL+"/api/v1/notify/baidu", "", form(params), "Content-Type", "application/x-www-form-urlencoded")
		assert.Equal(t, http.StatusUnauthorized, forged.Status, string(forged.Body))
		assert.Equal(t, orders.StatusAwaitingPayment, s.order(token, orderNo)["status"])
	})
}

func form(params map[string]string) string {
	v := url.Values{}
	for k, val := range params {
		v.Set(k, val)
	}
	return v.Encode()
}
