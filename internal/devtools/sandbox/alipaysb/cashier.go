package alipaysb

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/shopflow/orderpay/internal/alipay"
	"github.com/shopflow/orderpay/internal/devtools/sandbox"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/sbkit"
)

var cashierPage = template.Must(template.New("cashier").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>支付宝收银台 (sandbox)</title></head>
<body>
<h1>{{.Subject}}</h1>
<p class="amount">¥<span id="amount">{{.TotalAmount}}</span></p>
<p class="order">商户订单号 <span id="out_trade_no">{{.OutTradeNo}}</span> · 交易号 {{.TradeNo}} · {{.TradeStatus}}</p>
{{if eq .TradeStatus "WAIT_BUYER_PAY"}}<form method="post" action="{{.PayPath}}">
<input type="hidden" name="mode" value="notify">
<button type="submit">Pay</button>
</form>{{end}}
</body></html>
`))

var messagePage = template.Must(template.New("message").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{{.Title}} (sandbox)</title></head>
<body><h1>{{.Title}}</h1><p>{{.Detail}}</p></body></html>
`))

// cashierData feeds cashierPage.
type cashierData struct {
	OutTradeNo, TradeNo, TradeStatus, Subject, TotalAmount, PayPath string
}

// serveCashier is the buyer's browser landing on a wap/page pay URL: it
// verifies the merchant's signature, creates (or finds) the trade and
// renders a cashier page whose "Pay" button posts to the pay endpoint.
func (s *Server) serveCashier(w http.ResponseWriter, p map[string]string) {
	if e := s.verifyRequest(p, maxLandingAge); e != nil {
		writeMessage(w, http.StatusBadRequest, "支付请求无效", e.Code+" "+e.SubCode+": "+e.SubMsg)
		return
	}
	var biz bizContent
	if err := json.Unmarshal([]byte(p["biz_content"]), &biz); err != nil {
		writeMessage(w, http.StatusBadRequest, "支付请求无效", "biz_content: "+err.Error())
		return
	}
	product := ProductWap
	if p["method"] == alipay.MethodPagePay {
		product = ProductPage
	}
	s.mu.Lock()
	o, e := s.createLocked(product, p, &biz)
	var data cashierData
	if e == nil {
		data = cashierData{
			OutTradeNo: o.OutTradeNo, TradeNo: o.TradeNo, TradeStatus: o.Status, Subject: o.Subject,
			TotalAmount: alipay.FormatAmount(o.TotalCents), PayPath: payPath(o.OutTradeNo),
		}
	}
	s.mu.Unlock()
	if e != nil {
		writeMessage(w, http.StatusBadRequest, "无法创建交易", e.SubCode+": "+e.SubMsg)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := cashierPage.Execute(w, data); err != nil {
		s.log.Error("render cashier", "err", err)
	}
}

func payPath(outTradeNo string) string {
	return "/sandbox/alipay/orders/" + url.PathEscape(outTradeNo) + "/pay"
}

// handlePay serves POST /sandbox/alipay/orders/{no}/pay with an optional
// mode (query or form). Browsers (Accept: text/html) are redirected to the
// order's return_url with signed sync-return parameters, or shown a page;
// other clients get JSON.
func (s *Server) handlePay(w http.ResponseWriter, r *http.Request) {
	no := r.PathValue("no")
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"code": "INVALID_PARAMETER", "message": err.Error()})
		return
	}
	res, err := s.Pay(no, r.Form.Get("mode"))
	browser := strings.Contains(r.Header.Get("Accept"), "text/html")
	if err != nil {
		status, code := controlStatus(err)
		if browser {
			writeMessage(w, status, "支付失败", err.Error())
			return
		}
		writeJSON(w, status, map[string]string{"code": code, "message": err.Error()})
		return
	}
	if !browser {
		writeJSON(w, http.StatusOK, res)
		return
	}
	if target, ok := s.returnURL(no); ok {
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	pr := res.(*PayResult)
	writeMessage(w, http.StatusOK, "支付成功", fmt.Sprintf("订单 %s 已支付 ¥%s", pr.OutTradeNo, pr.TotalAmount))
}

// returnURL builds the signed synchronous return to the order's
// return_url, like Alipay's redirect after a wap/page payment.
func (s *Server) returnURL(outTradeNo string) (string, bool) {
	s.mu.Lock()
	o, ok := s.orders[outTradeNo]
	if !ok || o.ReturnURL == "" || !o.paid() {
		s.mu.Unlock()
		return "", false
	}
	method := alipay.MethodWapPay
	if o.Product == ProductPage {
		method = alipay.MethodPagePay
	}
	p := map[string]string{
		"method": method + ".return", "app_id": s.creds.AppID, "auth_app_id": s.creds.AppID,
		"charset": "utf-8", "version": "1.0", "seller_id": s.creds.SellerID,
		"out_trade_no": o.OutTradeNo, "trade_no": o.TradeNo, "total_amount": alipay.FormatAmount(o.TotalCents),
		"timestamp": s.now().In(beijing).Format(alipay.TimeLayout),
	}
	target := o.ReturnURL
	s.mu.Unlock()
	if err := s.SignNotify(p); err != nil {
		s.log.Error("sign return", "err", err)
		return "", false
	}
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
	}
	return target + sep + toValues(p).Encode(), true
}

// handleOrder serves GET /sandbox/alipay/orders/{no}.
func (s *Server) handleOrder(w http.ResponseWriter, r *http.Request) {
	v, err := s.Order(r.PathValue("no"))
	if err != nil {
		status, code := controlStatus(err)
		writeJSON(w, status, map[string]string{"code": code, "message": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// controlStatus maps control-plane errors to an HTTP status and a code.
func controlStatus(err error) (int, string) {
	switch {
	case errors.Is(err, ErrUnknownOrder):
		return http.StatusNotFound, "TRADE_NOT_EXIST"
	case errors.Is(err, ErrOrderClosed), errors.Is(err, ErrOrderExpired):
		return http.StatusConflict, "TRADE_CLOSED"
	case errors.Is(err, ErrOrderPaid):
		return http.StatusConflict, "TRADE_HAS_SUCCESS"
	case errors.Is(err, ErrPaymentFailed):
		return http.StatusConflict, "PAYMENT_FAILED"
	case errors.Is(err, sandbox.ErrInvalidPayMode):
		return http.StatusBadRequest, "INVALID_PARAMETER"
	}
	return http.StatusInternalServerError, "SYSTEM_ERROR"
}

func writeJSON(w http.ResponseWriter, status int, v any) { sbkit.WriteJSON(w, status, v) }

func writeMessage(w http.ResponseWriter, status int, title, detail string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = messagePage.Execute(w, struct{ Title, Detail string }{title, detail})
}
