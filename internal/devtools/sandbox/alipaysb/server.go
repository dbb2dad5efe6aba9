// Package alipaysb is a local Alipay provider sandbox speaking the Alipay
// open platform's wire protocol (public-key mode, RSA2), so gopay's real
// signing and verification code runs unchanged against it:
//
//	POST|GET /gateway.do                   API calls: alipay.trade.precreate, .query,
//	                                       .close, .refund, .fastpay.refund.query
//	GET|POST /gateway.do?method=alipay.trade.wap.pay|page.pay&…
//	                                       the buyer's browser landing: a cashier page
//	POST /sandbox/alipay/orders/{no}/pay   simulate the buyer paying (?mode=notify|silent|fail)
//	GET  /sandbox/alipay/orders/{no}       the sandbox's view of an order
//
// Every request's RSA2 sign is verified with the merchant's app public key
// (40002 isv.invalid-signature otherwise). Answers are compact JSON
// {"<method>_response":{…},"sign":"…"} signed over the exact inner bytes
// with the sandbox's Alipay private key. Payments and refunds are notified
// asynchronously to the order's notify_url, form-encoded and signed, and
// re-sent on Alipay's schedule until the receiver answers "success".
//
// Unlike Alipay, a precreated trade exists (WAIT_BUYER_PAY) before its QR
// code is scanned. Orders live in memory; credentials live in
// Options.StateDir (alipay.json) so merchant-side processes load the same keys.
package alipaysb

import (
	"crypto/rsa"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/shopflow/orderpay/internal/alipay"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/sbkit"
)

// DefaultNotifyScale multiplies Alipay's notify schedule by default,
// turning the first 4-minute wait into 2.4s.
const DefaultNotifyScale = 0.01

// GatewayPath is the path of the sandbox's gateway (Alipay's /gateway.do).
const GatewayPath = "/gateway.do"

// maxBody bounds request bodies the sandbox reads.
const maxBody = 1 << 20

// maxClockSkew is how far an API request's timestamp may be from now.
const maxClockSkew = 15 * time.Minute

// maxLandingAge is how old the timestamp of a wap/page pay URL may be: the
// merchant builds the URL once and the buyer may open it much later.
const maxLandingAge = 24 * time.Hour

// beijing is the zone of every Alipay timestamp.
var beijing = time.FixedZone("CST", 8*60*60)

// Options configure a Server.
type Options struct {
	// StateDir holds alipay.json (created by EnsureCredentials if needed).
	StateDir string
	// NotifyScale multiplies Alipay's notify schedule (4m, 10m, 10m, 1h, 2h,
	// 6h, 15h); zero means DefaultNotifyScale. Must not be negative.
	NotifyScale float64
	// HTTPClient delivers notifies; nil means a client with a 10s timeout.
	HTTPClient *http.Client
	// Logger receives the sandbox's logs; nil means slog.Default().
	Logger *slog.Logger
}

// Server is the Alipay sandbox. Create it with New and mount it with Register.
type Server struct {
	creds      *Credentials
	appPub     *rsa.PublicKey
	alipayPriv *rsa.PrivateKey
	hc         *http.Client
	log        *slog.Logger
	now        func() time.Time
	bg         *sbkit.Background // notify deliveries
	notifier   *sbkit.Notifier
	mu         sync.Mutex
	orders     map[string]*order // by out_trade_no
	byTradeNo  map[string]string // trade_no → out_trade_no
	closed     bool
}

// New loads or creates the credentials in opts.StateDir and returns a
// Server ready to serve.
func New(opts Options) (*Server, error) {
	common, err := sbkit.Options(opts).WithDefaults("alipaysb", DefaultNotifyScale, 10*time.Second)
	if err != nil {
		return nil, err
	}
	opts = Options(common)
	c, err := EnsureCredentials(opts.StateDir)
	if err != nil {
		return nil, err
	}
	appPub, err := c.AppPublicRSA()
	if err != nil {
		return nil, fmt.Errorf("alipaysb: app public key: %w", err)
	}
	alipayPriv, err := c.AlipayPrivateRSA()
	if err != nil {
		return nil, fmt.Errorf("alipaysb: alipay private key: %w", err)
	}
	s := &Server{
		creds:      c,
		appPub:     appPub,
		alipayPriv: alipayPriv,
		hc:         opts.HTTPClient,
		log:        opts.Logger.With("component", "alipay-sandbox"),
		now:        time.Now,
		bg:         sbkit.NewBackground(),
		orders:     make(map[string]*order),
		byTradeNo:  make(map[string]string),
	}
	// An attempt in flight when the sandbox closes completes and is
	// recorded (see Close).
	s.notifier = sbkit.NewNotifier(&s.mu, s.bg, sbkit.NotifyPolicy{
		Schedule: NotifySchedule(opts.NotifyScale), MaxHistory: maxHistory, CompleteInFlight: true,
	})
	return s, nil
}

// Credentials returns the credentials the sandbox signs and verifies with.
func (s *Server) Credentials() *Credentials { return s.creds }

// Register mounts the sandbox's routes on mux.
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+GatewayPath, s.handleGateway)
	mux.HandleFunc("POST "+GatewayPath, s.handleGateway)
	mux.HandleFunc("POST /sandbox/alipay/orders/{no}/pay", s.handlePay)
	mux.HandleFunc("GET /sandbox/alipay/orders/{no}", s.handleOrder)
}

// Close stops every notify delivery and waits for them to return: attempts
// in flight complete (bounded by Options.HTTPClient's timeout), no attempt
// starts afterwards. Further payments are still recorded but no longer
// notified.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.bg.Stop()
}

// apiError is a failed gateway answer: code, msg, sub_code, sub_msg.
type apiError struct {
	Code, Msg, SubCode, SubMsg string
}

func invalidArgs(subCode, subMsg string) *apiError {
	return &apiError{Code: "40002", Msg: "Invalid Arguments", SubCode: subCode, SubMsg: subMsg}
}

func bizFailed(subCode, subMsg string) *apiError {
	return &apiError{Code: "40004", Msg: "Business Failed", SubCode: subCode, SubMsg: subMsg}
}

// readParams merges the query and the form body (body wins); a key repeated
// within one of them is an error.
func readParams(w http.ResponseWriter, r *http.Request) (map[string]string, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		return nil, fmt.Errorf("parse parameters: %w", err)
	}
	params, err := flatten(r.URL.Query())
	if err != nil {
		return nil, err
	}
	body, err := flatten(r.PostForm)
	if err != nil {
		return nil, err
	}
	for k, v := range body {
		params[k] = v
	}
	return params, nil
}

// verifyRequest checks a merchant request's public parameters, that its
// timestamp is at most maxAge old (and not more than maxClockSkew ahead),
// and its RSA2 signature by the merchant's app key.
func (s *Server) verifyRequest(p map[string]string, maxAge time.Duration) *apiError {
	switch {
	case p["app_id"] == "":
		return &apiError{Code: "40001", Msg: "Missing Required Arguments", SubCode: "isv.missing-app-id", SubMsg: "缺少AppID参数"}
	case p["app_id"] != s.creds.AppID:
		return invalidArgs("isv.invalid-app-id", "无效的AppID参数")
	case p["sign"] == "":
		return &apiError{Code: "40001", Msg: "Missing Required Arguments", SubCode: "isv.missing-signature", SubMsg: "缺少签名参数"}
	case p["sign_type"] != "RSA2":
		return invalidArgs("isv.invalid-signature-type", "无效的签名类型 (sandbox: RSA2 only)")
	case p["charset"] != "" && !strings.EqualFold(p["charset"], "utf-8"):
		return invalidArgs("isv.invalid-charset", "字符集错误 (sandbox: utf-8 only)")
	}
	ts, err := time.ParseInLocation(alipay.TimeLayout, p["timestamp"], beijing)
	if err != nil {
		return invalidArgs("isv.invalid-timestamp", "非法的时间戳参数")
	}
	if skew := s.now().Sub(ts); skew > maxAge || skew < -maxClockSkew {
		return invalidArgs("isv.invalid-timestamp", fmt.Sprintf("时间戳偏差过大 (%s, Beijing time expected)", skew.Round(time.Second)))
	}
	if err := VerifyRSA2(RequestContent(p), p["sign"], s.appPub); err != nil {
		s.log.Warn("merchant signature rejected", "method", p["method"], "err", err)
		return invalidArgs("isv.invalid-signature", "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配: "+err.Error())
	}
	return nil
}

// responseKey is the envelope key of a method's answer.
func responseKey(method string) string {
	if method == "" {
		return "error_response"
	}
	return strings.ReplaceAll(method, ".", "_") + "_response"
}
