package alipaysb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/shopflow/orderpay/internal/alipay"
)

// apiHandler serves one API method. It returns the answer's fields (code
// and msg are added) or a failure.
type apiHandler func(s *Server, p map[string]string, biz *bizContent) (map[string]any, *apiError)

var apiMethods = map[string]apiHandler{
	alipay.MethodPrecreate:   (*Server).precreate,
	alipay.MethodQuery:       (*Server).query,
	alipay.MethodClose:       (*Server).closeTrade,
	alipay.MethodRefund:      (*Server).refund,
	alipay.MethodRefundQuery: (*Server).refundQuery,
}

// flexString decodes a JSON string or number as its text ("12.34", 12.34).
type flexString string

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	if bytes.Equal(b, []byte("null")) {
		*f = ""
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexString(n.String())
	return nil
}

// bizContent is the union of the biz_content fields the sandbox reads.
type bizContent struct {
	OutTradeNo   string     `json:"out_trade_no"`
	TradeNo      string     `json:"trade_no"`
	TotalAmount  flexString `json:"total_amount"`
	Subject      string     `json:"subject"`
	ProductCode  string     `json:"product_code"`
	TimeExpire   string     `json:"time_expire"`
	RefundAmount flexString `json:"refund_amount"`
	RefundReason string     `json:"refund_reason"`
	OutRequestNo string     `json:"out_request_no"`
}

// handleGateway serves /gateway.do: browser landings for wap/page payments
// and signed API calls for everything else.
func (s *Server) handleGateway(w http.ResponseWriter, r *http.Request) {
	p, err := readParams(w, r)
	if err != nil {
		s.writeAPI(w, r.URL.Query().Get("method"), nil, invalidArgs("isv.invalid-parameter", err.Error()))
		return
	}
	method := p["method"]
	if method == alipay.MethodWapPay || method == alipay.MethodPagePay {
		s.serveCashier(w, p)
		return
	}
	h, ok := apiMethods[method]
	if !ok {
		s.writeAPI(w, "", nil, invalidArgs("isv.invalid-method", fmt.Sprintf("不存在的方法名 %q (not served by the sandbox)", method)))
		return
	}
	if e := s.verifyRequest(p, maxClockSkew); e != nil {
		s.writeAPI(w, method, nil, e)
		return
	}
	var biz bizContent
	if err := json.Unmarshal([]byte(p["biz_content"]), &biz); err != nil {
		s.writeAPI(w, method, nil, invalidArgs("isv.invalid-parameter", "biz_content is not valid JSON: "+err.Error()))
		return
	}
	body, e := h(s, p, &biz)
	s.writeAPI(w, method, body, e)
}

// writeAPI writes {"<method>_response":{…},"sign":"…"}, signing the exact
// inner bytes with the Alipay private key like Alipay does.
func (s *Server) writeAPI(w http.ResponseWriter, method string, body map[string]any, e *apiError) {
	if body == nil {
		body = make(map[string]any, 4)
	}
	if e != nil {
		body = map[string]any{"code": e.Code, "msg": e.Msg, "sub_code": e.SubCode, "sub_msg": e.SubMsg}
	} else {
		body["code"], body["msg"] = "10000", "Success"
	}
	inner, err := json.Marshal(body)
	if err != nil {
		s.log.Error("encode response", "method", method, "err", err)
		http.Error(w, "encode response", http.StatusInternalServerError)
		return
	}
	sig, err := SignRSA2(string(inner), s.alipayPriv)
	if err != nil {
		s.log.Error("sign response", "method", method, "err", err)
		http.Error(w, "sign response", http.StatusInternalServerError)
		return
	}
	key, err := json.Marshal(responseKey(method))
	if err != nil {
		http.Error(w, "encode response", http.StatusInternalServerError)
		return
	}
	sigJSON, _ := json.Marshal(sig) // a base64 string always encodes
	var out bytes.Buffer
	out.WriteByte('{')
	out.Write(key)
	out.WriteByte(':')
	out.Write(inner)
	out.WriteString(`,"sign":`)
	out.Write(sigJSON)
	out.WriteByte('}')
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	_, _ = w.Write(out.Bytes())
	if e != nil {
		s.log.Info("api call failed", "method", method, "sub_code", e.SubCode, "sub_msg", e.SubMsg)
	} else {
		s.log.Debug("api call", "method", method)
	}
}
