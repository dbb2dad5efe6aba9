// Package baidusb is the local Baidu smart program cashier sandbox. It
// speaks the cashier's wire protocol so the merchant code in package baidu
// runs unchanged against it:
//
//	GET  /rest/2.0/smartapp/pay/paymentservice/findByTpOrderId   order query
//	POST /rest/2.0/smartapp/pay/paymentservice/applyOrderRefund  refund
//
// Both check the access_token. Payment notifies (form-encoded, rsaSign made
// with the platform key) are re-sent on WeChat's schedule × NotifyScale until
// the merchant answers {"errno":0,…,"data":{"isConsumed":2}}; refunds
// succeed RefundDelay × NotifyScale after they are applied for and are
// reported by a signed refund notify.
//
// At Baidu the order is created by the mini program when the buyer opens the
// cashier with the merchant's signed orderInfo; the sandbox has no mini
// program, so a control plane stands in for it:
//
//	POST /sandbox/baidu/orders                   register an orderInfo (rsaSign checked with the merchant key)
//	POST /sandbox/baidu/orders/{tpOrderId}/pay   the buyer pays: {"mode":"notify"|"silent"|"fail"}
//	GET  /sandbox/baidu/orders/{tpOrderId}       the sandbox's view of an order
//
// Server is a sandbox.Provider: mounted into the WeChat sandbox (its
// Options.Providers) it also pays Baidu orders through the generic
// POST /sandbox/orders/{no}/pay.
//
// Orders live in memory; credentials live in Options.StateDir/baidu.json.
package baidusb

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/shopflow/orderpay/internal/baidu"
	"github.com/shopflow/orderpay/internal/devtools/sandbox"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/sbkit"
)

// DefaultNotifyScale multiplies the notify schedule and the refund delay by
// default, turning 15s into 150ms.
const DefaultNotifyScale = sandbox.DefaultNotifyScale

// RefundDelay is how long an applied refund takes to succeed, before scaling.
const RefundDelay = time.Minute

// RegisterPath is the control endpoint that registers an orderInfo.
const RegisterPath = "/sandbox/baidu/orders"

// maxBody bounds request bodies the sandbox reads.
const maxBody = 1 << 20

// NotifySchedule returns the notify re-send delays multiplied by scale:
// the WeChat sandbox's schedule (15s, 15s, 30s, 3m, … 6h; 15 re-sends over
// ~24h). GUESS: Baidu documents only that it re-sends until acknowledged.
func NotifySchedule(scale float64) []time.Duration { return sandbox.NotifySchedule(scale) }

// Server implements the WeChat sandbox's Provider, so it can be mounted into
// it and reached through the generic POST /sandbox/orders/{no}/pay.
var _ sandbox.Provider = (*Server)(nil)

// Options configure a Server.
type Options struct {
	// StateDir holds baidu.json (created by EnsureCredentials if needed).
	StateDir string
	// NotifyScale multiplies the notify schedule and RefundDelay; zero means
	// DefaultNotifyScale. Must not be negative.
	NotifyScale float64
	// HTTPClient delivers notifies; nil means a client with a 5s timeout.
	HTTPClient *http.Client
	// Logger receives the sandbox's logs; nil means slog.Default().
	Logger *slog.Logger
}

// Server is the Baidu cashier sandbox. Create it with New, mount it with
// Register (or serve Handler) and stop it with Close.
type Server struct {
	creds       *Credentials
	mchPub      *rsa.PublicKey
	platPriv    *rsa.PrivateKey
	refundDelay time.Duration
	hc          *http.Client
	log         *slog.Logger
	now         func() time.Time
	bg          *sbkit.Background // notify deliveries, refund completions
	notifier    *sbkit.Notifier

	mu        sync.Mutex
	orders    map[string]*order // by tpOrderId
	orderIDs  map[string]bool   // Baidu orderIds handed out
	refundIDs map[string]bool   // refundBatchIds handed out
	// console notify URLs: at Baidu they are set in the developer console;
	// here the latest registration that names them sets them.
	notifyURL, refundNotifyURL string
	closed                     bool
}

// New loads or creates the credentials in opts.StateDir and returns a
// Server ready to serve.
func New(opts Options) (*Server, error) {
	common, err := sbkit.Options(opts).WithDefaults("baidusb", DefaultNotifyScale, 5*time.Second)
	if err != nil {
		return nil, err
	}
	opts = Options(common)
	c, err := EnsureCredentials(opts.StateDir)
	if err != nil {
		return nil, err
	}
	mchPub, err := baidu.ParsePublicKey(c.MerchantPublicKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("baidusb: merchant public key: %w", err)
	}
	platPriv, err := baidu.ParsePrivateKey(c.PlatformPrivateKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("baidusb: platform private key: %w", err)
	}
	s := &Server{
		creds: c, mchPub: mchPub, platPriv: platPriv,
		refundDelay: time.Duration(float64(RefundDelay) * opts.NotifyScale),
		hc:          opts.HTTPClient,
		log:         opts.Logger.With("component", "baidu-sandbox"),
		now:         time.Now,
		bg:          sbkit.NewBackground(),
		orders:      make(map[string]*order), orderIDs: make(map[string]bool), refundIDs: make(map[string]bool),
	}
	s.notifier = sbkit.NewNotifier(&s.mu, s.bg, sbkit.NotifyPolicy{
		Schedule: NotifySchedule(opts.NotifyScale), MaxHistory: maxHistory,
	})
	return s, nil
}

// Credentials returns the credentials the sandbox signs and verifies with.
func (s *Server) Credentials() *Credentials { return s.creds }

// Register mounts the Baidu API and the /sandbox/baidu/ control plane on mux.
func (s *Server) Register(mux *http.ServeMux) {
	api := baidu.PaymentServicePath
	mux.HandleFunc("GET "+api+baidu.APIFindByTpOrderID, s.handleFindByTpOrderID)
	mux.HandleFunc("POST "+api+baidu.APIApplyOrderRefund, s.handleApplyOrderRefund)
	mux.HandleFunc(api, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, apiAnswer{Errno: errnoNoSuchAPI, Msg: "api not served by the sandbox"})
	})
	mux.HandleFunc("POST "+RegisterPath, s.handleRegister)
	mux.HandleFunc("POST "+RegisterPath+"/{tpOrderId}/pay", s.handlePay)
	mux.HandleFunc("GET "+RegisterPath+"/{tpOrderId}", s.handleOrder)
}

// Handler returns a handler serving only the Baidu sandbox.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.Register(mux)
	return mux
}

// Close stops every notify delivery and pending refund and waits for them.
// Later payments and refunds are still recorded but no longer notified.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.bg.Stop()
}

// writeJSON writes v as the JSON answer.
func writeJSON(w http.ResponseWriter, status int, v any) { sbkit.WriteJSON(w, status, v) }

// controlError is the control plane's error body.
type controlError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeControlError maps control-plane errors to HTTP answers.
func writeControlError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrUnknownOrder):
		writeJSON(w, http.StatusNotFound, controlError{"ORDER_NOT_EXIST", err.Error()})
	case errors.Is(err, ErrBadOrderInfo), errors.Is(err, sandbox.ErrInvalidPayMode):
		writeJSON(w, http.StatusBadRequest, controlError{"PARAM_ERROR", err.Error()})
	case errors.Is(err, ErrOrderConflict), errors.Is(err, sandbox.ErrOrderPaid):
		writeJSON(w, http.StatusConflict, controlError{"CONFLICT", err.Error()})
	default:
		writeJSON(w, http.StatusInternalServerError, controlError{"SYSTEM_ERROR", err.Error()})
	}
}
