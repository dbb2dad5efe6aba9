// Package wechatv2sb is a local WeChat Pay v2 (XML API) provider sandbox.
// It speaks the real v2 protocol: requests are XML signed with the
// merchant's API key (MD5 or HMAC-SHA256 per sign_type) and rejected with
// return_code FAIL "签名错误" otherwise; answers are XML carrying a fresh
// nonce_str and a sign; payment notifies are signed XML re-sent on WeChat's
// schedule until the merchant answers return_code SUCCESS; refund notifies
// carry req_info encrypted with AES-256-ECB under md5(API key). gopay's real
// signing, verification and decryption code therefore runs unchanged
// against it.
//
// Register mounts, on the caller's mux:
//
//	POST /pay/unifiedorder, /pay/orderquery, /pay/closeorder,
//	     /secapi/pay/refund, /pay/refundquery       WeChat Pay v2
//	POST /sandbox/wechatv2/orders/{no}/pay          simulate the buyer paying
//	GET  /sandbox/wechatv2/orders/{no}              the sandbox's view of an order
//
// The sandbox serves one merchant whose credentials live in
// Options.StateDir/wechatv2.json (see EnsureCredentials), so merchant-side
// processes load the same API key. Orders live in memory.
package wechatv2sb

import (
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/shopflow/orderpay/internal/devtools/sandbox/sbkit"
)

// DefaultNotifyScale multiplies WeChat's notify retry schedule by default,
// turning 15s into 150ms.
const DefaultNotifyScale = 0.01

// maxBody bounds request bodies the sandbox reads.
const maxBody = 1 << 20

// Options configure a Server.
type Options struct {
	// StateDir holds wechatv2.json (created by EnsureCredentials if needed).
	StateDir string
	// NotifyScale multiplies WeChat's notify retry schedule and the refund
	// settlement delay; zero means DefaultNotifyScale. Must not be negative.
	NotifyScale float64
	// HTTPClient delivers notifies; nil means a client with a 5s timeout.
	HTTPClient *http.Client
	// Logger receives the sandbox's logs; nil means slog.Default().
	Logger *slog.Logger
}

// Server is the v2 provider sandbox. Create it with New and mount it with
// Register.
type Server struct {
	creds    *Credentials
	scale    float64
	hc       *http.Client
	log      *slog.Logger
	now      func() time.Time
	bg       *sbkit.Background // notify deliveries, refund settlements
	notifier *sbkit.Notifier
	mu       sync.Mutex
	orders   map[string]*order  // by out_trade_no
	refunds  map[string]*refund // by out_refund_no
	closed   bool
}

// New loads or creates the credentials in opts.StateDir and returns a
// Server ready to be registered.
func New(opts Options) (*Server, error) {
	common, err := sbkit.Options(opts).WithDefaults("wechatv2sb", DefaultNotifyScale, 5*time.Second)
	if err != nil {
		return nil, err
	}
	opts = Options(common)
	c, err := EnsureCredentials(opts.StateDir)
	if err != nil {
		return nil, err
	}
	s := &Server{
		creds:   c,
		scale:   opts.NotifyScale,
		hc:      opts.HTTPClient,
		log:     opts.Logger.With("component", "wechatv2-sandbox"),
		now:     time.Now,
		bg:      sbkit.NewBackground(),
		orders:  make(map[string]*order),
		refunds: make(map[string]*refund),
	}
	s.notifier = sbkit.NewNotifier(&s.mu, s.bg, sbkit.NotifyPolicy{
		Schedule: NotifySchedule(opts.NotifyScale), MaxHistory: maxHistory,
	})
	return s, nil
}

// Credentials returns a copy of the credentials the sandbox signs and
// verifies with.
func (s *Server) Credentials() Credentials { return *s.creds }

// Register mounts the v2 API and the sandbox control routes on mux.
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /pay/unifiedorder", s.api(s.unifiedOrder))
	mux.HandleFunc("POST /pay/orderquery", s.api(s.orderQuery))
	mux.HandleFunc("POST /pay/closeorder", s.api(s.closeOrder))
	mux.HandleFunc("POST /secapi/pay/refund", s.api(s.refund))
	mux.HandleFunc("POST /pay/refundquery", s.api(s.refundQuery))
	mux.HandleFunc("POST /sandbox/wechatv2/orders/{no}/pay", s.handlePay)
	mux.HandleFunc("GET /sandbox/wechatv2/orders/{no}", s.handleOrder)
}

// Close stops every notify delivery and pending refund settlement and waits
// for them to return. Later payments are recorded but not notified.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.bg.Stop()
}

// answer is a handler's reply: result fields, or a business error.
type answer map[string]string

// bizError is a result_code FAIL answer.
func bizError(code, desc string) answer {
	return answer{"result_code": "FAIL", "err_code": code, "err_code_des": desc}
}

// request is a verified merchant request.
type request struct {
	params   map[string]string
	signType string
}

// api wraps a v2 API handler: it reads and parses the XML, checks mch_id,
// sign_type, the sign and nonce_str (return_code FAIL otherwise), checks
// appid (result_code FAIL APPID_MCHID_NOT_MATCH), and writes the handler's
// answer with return_code SUCCESS, appid, mch_id, a fresh nonce_str and a
// sign of the request's sign_type.
func (s *Server) api(h func(req request) answer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			s.writeFail(w, r, "读取请求失败: "+err.Error())
			return
		}
		p, err := ParseXML(raw)
		if err != nil {
			s.writeFail(w, r, "XML格式错误: "+err.Error())
			return
		}
		st := p["sign_type"]
		if st == "" {
			st = SignTypeMD5
		}
		switch {
		case p["mch_id"] != s.creds.MchID:
			s.writeFail(w, r, "mch_id参数错误 (unknown merchant)")
			return
		case st != SignTypeMD5 && st != SignTypeHMACSHA256:
			s.writeFail(w, r, "sign_type参数错误")
			return
		case !verifySign(s.creds.APIKey, st, p):
			s.writeFail(w, r, "签名错误")
			return
		case p["nonce_str"] == "" || len(p["nonce_str"]) > 32:
			s.writeFail(w, r, "nonce_str参数错误")
			return
		}
		var a answer
		if p["appid"] != s.creds.AppID {
			a = bizError("APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
		} else {
			a = h(request{params: p, signType: st})
		}
		s.writeSigned(w, r, a, st)
	}
}

// writeFail answers return_code FAIL (unsigned, like WeChat).
func (s *Server) writeFail(w http.ResponseWriter, r *http.Request, msg string) {
	s.log.Warn("request refused", "path", r.URL.Path, "return_msg", msg)
	writeXML(w, map[string]string{"return_code": "FAIL", "return_msg": msg})
}

// writeSigned completes a handler's answer and signs it.
func (s *Server) writeSigned(w http.ResponseWriter, r *http.Request, a answer, signType string) {
	n, err := sbkit.RandomString(alnum, 32)
	if err != nil {
		s.log.Error("nonce", "err", err)
		http.Error(w, "system error", http.StatusInternalServerError)
		return
	}
	out := map[string]string{
		"return_code": "SUCCESS", "return_msg": "OK",
		"appid": s.creds.AppID, "mch_id": s.creds.MchID, "nonce_str": n,
	}
	if a["result_code"] == "" {
		out["result_code"] = "SUCCESS"
	}
	for k, v := range a {
		if v != "" {
			out[k] = v
		}
	}
	out["sign"] = Sign(s.creds.APIKey, signType, out)
	s.log.Debug("request served", "path", r.URL.Path, "result_code", out["result_code"], "err_code", out["err_code"])
	writeXML(w, out)
}

func writeXML(w http.ResponseWriter, params map[string]string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(EncodeXML(params))
}
