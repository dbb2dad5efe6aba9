// Package sandbox is a local WeChat provider sandbox. It speaks WeChat Pay
// v3's wire protocol (merchant request signatures checked, every response and
// notify signed with the platform key, notifies encrypted with the APIv3
// key) and the mini-program jscode2session API, so gopay's real signing,
// verification and decryption code runs unchanged against it.
//
// WeChat Pay v3 APIs served: JSAPI / Native / H5 prepay, query by
// out_trade_no or transaction_id, close, refund
// (POST /v3/refund/domestic/refunds) and refund query
// (GET /v3/refund/domestic/refunds/{out_refund_no}) and the platform
// certificate download (GET /v3/certificates). Payments and refunds
// are notified (TRANSACTION.SUCCESS, REFUND.SUCCESS) on WeChat's retry
// schedule, compressed by Options.NotifyScale.
//
// Besides the WeChat APIs it serves a small control plane for tests and
// operators:
//
//	POST /sandbox/orders/{out_trade_no}/pay?mode=…  simulate the buyer paying (modes: notify, silent, fail)
//	POST /sandbox/orders/{out_trade_no}/notify      re-send the payment notify
//	GET  /sandbox/orders/{out_trade_no}             the sandbox's view of an order
//	GET  /sandbox/refunds/{out_refund_no}           the sandbox's view of a refund
//	GET  /sandbox/books                             every captured payment and refund, of every provider (Books)
//	POST /sandbox/wechat/signer?key=…               sign with the public key or the platform certificate
//	GET  /healthz
//
// Other providers' sandboxes mount into the same server through
// Options.Providers (see Provider): their routes share the mux, and the pay
// endpoint above falls through to them for orders WeChat v3 does not know.
//
// Orders live in memory; credentials live in Options.StateDir (see package
// creds) so merchant-side processes can load the same keys.
package sandbox

import (
	"crypto/rsa"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shopflow/orderpay/internal/devtools/sandbox/creds"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/sbkit"
)

// DefaultNotifyScale multiplies WeChat's notify retry schedule by default,
// turning 15s into 150ms.
const DefaultNotifyScale = 0.01

// maxBody bounds request bodies the sandbox reads.
const maxBody = 1 << 20

// Options configure a Server.
type Options struct {
	// StateDir holds the credentials (created by creds.Ensure if needed).
	StateDir string
	// NotifyScale multiplies WeChat's notify retry schedule; zero means
	// DefaultNotifyScale. Must not be negative.
	NotifyScale float64
	// HTTPClient delivers notifies; nil means a client with a 5s timeout
	// (WeChat's own notify timeout).
	HTTPClient *http.Client
	// Logger receives the sandbox's logs; nil means slog.Default().
	Logger *slog.Logger
	// Providers are other providers' sandboxes to mount: New registers each
	// on the mux, the generic pay endpoint asks them in order for orders it
	// does not know, and Close closes them. If New fails the caller keeps
	// them (and must close them).
	Providers []Provider
	// WeChatSigner is the key the sandbox names in Wechatpay-Serial:
	// SignWithPublicKey ("" too) or SignWithCertificate (a merchant on
	// platform certificates). SetSigner changes it later.
	WeChatSigner string
}

// Server is the provider sandbox. Create it with New and serve Handler.
type Server struct {
	creds     *creds.Credentials
	mchPub    *rsa.PublicKey
	platPriv  *rsa.PrivateKey
	cert      *platformCertificate // served by GET /v3/certificates
	certSigns atomic.Bool          // sign naming the certificate (SignWithCertificate), not the public key
	scale     float64
	hc        *http.Client
	log       *slog.Logger
	handler   http.Handler
	now       func() time.Time
	bg        *sbkit.Background // notify deliveries, refund settlements
	notifier  *sbkit.Notifier
	mu        sync.Mutex
	orders    map[string]*order  // by out_trade_no
	byTxn     map[string]string  // transaction_id → out_trade_no
	refunds   map[string]*refund // by out_refund_no
	closed    bool
	providers []Provider
	closeOnce sync.Once
}

// New loads or creates the credentials in opts.StateDir, mounts
// opts.Providers and returns a Server ready to serve.
func New(opts Options) (*Server, error) {
	common, err := sbkit.Options{
		StateDir: opts.StateDir, NotifyScale: opts.NotifyScale,
		HTTPClient: opts.HTTPClient, Logger: opts.Logger,
	}.WithDefaults("sandbox", DefaultNotifyScale, 5*time.Second)
	if err != nil {
		return nil, err
	}
	opts.NotifyScale, opts.HTTPClient, opts.Logger = common.NotifyScale, common.HTTPClient, common.Logger
	c, err := creds.Ensure(opts.StateDir)
	if err != nil {
		return nil, fmt.Errorf("sandbox: credentials: %w", err)
	}
	mchPub, err := c.MerchantPublicKey()
	if err != nil {
		return nil, fmt.Errorf("sandbox: merchant public key: %w", err)
	}
	platPriv, err := c.PlatformPrivateKey()
	if err != nil {
		return nil, fmt.Errorf("sandbox: platform private key: %w", err)
	}
	cert, err := newPlatformCertificate(platPriv, time.Now())
	if err != nil {
		return nil, err
	}
	s := &Server{
		creds:     c,
		cert:      cert,
		mchPub:    mchPub,
		platPriv:  platPriv,
		scale:     opts.NotifyScale,
		hc:        opts.HTTPClient,
		log:       opts.Logger.With("component", "wechat-sandbox"),
		now:       time.Now,
		bg:        sbkit.NewBackground(),
		orders:    make(map[string]*order),
		byTxn:     make(map[string]string),
		refunds:   make(map[string]*refund),
		providers: append([]Provider(nil), opts.Providers...),
	}
	if opts.WeChatSigner != "" {
		if err := s.SetSigner(opts.WeChatSigner); err != nil {
			return nil, err
		}
	}
	s.notifier = sbkit.NewNotifier(&s.mu, s.bg, sbkit.NotifyPolicy{
		Schedule: NotifySchedule(opts.NotifyScale), MaxHistory: maxHistory,
	})
	mux := s.routes()
	for i, p := range s.providers {
		if err := registerProvider(mux, i, p); err != nil {
			s.bg.Stop()
			return nil, err
		}
	}
	s.handler = s.logRequests(mux)
	return s, nil
}

// Credentials returns the credentials the sandbox signs and verifies with.
func (s *Server) Credentials() *creds.Credentials { return s.creds }

// Handler returns the sandbox's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops every notify delivery and pending refund settlement, waits
// for them to return, then closes the mounted providers (once, however often
// Close is called). Further payments and refunds are still recorded but no
// longer notified, and refunds stay PROCESSING.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.bg.Stop()
	s.closeOnce.Do(func() {
		for _, p := range s.providers {
			p.Close()
		}
	})
}

// routes returns the mux with the WeChat and control-plane routes.
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	// WeChat Pay v3.
	mux.HandleFunc("POST /v3/pay/transactions/jsapi", s.v3(s.handlePrepay(tradeJSAPI)))
	mux.HandleFunc("POST /v3/pay/transactions/native", s.v3(s.handlePrepay(tradeNative)))
	mux.HandleFunc("POST /v3/pay/transactions/h5", s.v3(s.handlePrepay(tradeH5)))
	mux.HandleFunc("GET /v3/pay/transactions/out-trade-no/{no}", s.v3(s.handleQueryByOutTradeNo))
	mux.HandleFunc("GET /v3/pay/transactions/id/{id}", s.v3(s.handleQueryByTransactionID))
	mux.HandleFunc("POST /v3/pay/transactions/out-trade-no/{no}/close", s.v3(s.handleClose))
	mux.HandleFunc("POST /v3/refund/domestic/refunds", s.v3(s.handleRefund))
	mux.HandleFunc("GET /v3/refund/domestic/refunds/{no}", s.v3(s.handleQueryRefund))
	mux.HandleFunc("GET /v3/certificates", s.v3(s.handleCertificates))
	mux.HandleFunc("/v3/", s.v3(func(_ *http.Request, _ []byte) reply {
		return errReply(http.StatusNotFound, "NOT_FOUND", "接口不存在 (not served by the sandbox)")
	}))
	// Mini program.
	mux.HandleFunc("GET /sns/jscode2session", s.handleCode2Session)
	// Control plane.
	mux.HandleFunc("POST /sandbox/orders/{no}/pay", s.handleSandboxPay)
	mux.HandleFunc("POST /sandbox/orders/{no}/notify", s.handleSandboxNotify)
	mux.HandleFunc("GET /sandbox/orders/{no}", s.handleSandboxOrder)
	mux.HandleFunc("GET /sandbox/refunds/{no}", s.handleSandboxRefund)
	mux.HandleFunc("POST /sandbox/orders/{no}/refund-outcome", s.handleSandboxRefundOutcome)
	mux.HandleFunc("GET /sandbox/books", s.handleSandboxBooks)
	mux.HandleFunc("POST /sandbox/wechat/signer", s.handleSandboxSigner)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	return mux
}

// statusRecorder captures the status code for request logging.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

// WriteHeader records code and forwards it.
func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		s.log.Debug("request", "method", r.Method, "path", r.URL.Path,
			"status", rec.status, "duration", time.Since(start))
	})
}

// writeJSON writes an unsigned JSON answer (control plane, jscode2session).
func writeJSON(w http.ResponseWriter, status int, v any) { sbkit.WriteJSON(w, status, v) }

// apiError is WeChat's error body, also used by the control plane.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}
