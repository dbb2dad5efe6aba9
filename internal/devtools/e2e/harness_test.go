package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/api"
	"github.com/shopflow/orderpay/internal/app"
	"github.com/shopflow/orderpay/internal/config"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/apicontract"
	"github.com/shopflow/orderpay/internal/devtools/sandbox"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/all"
	"github.com/shopflow/orderpay/internal/devtools/testenv"
	"github.com/shopflow/orderpay/internal/logging"
)

func temporalAddress(t *testing.T) string { return testenv.TemporalDevServer(t) }

func TestMain(m *testing.M) {
	code := m.Run()
	if testing.Verbose() {
		n, unreached := apicontract.Coverage()
		fmt.Printf("contract: %d exchanges validated against api/openapi.yaml; operations not reached: %d %v\n", n, len(unreached), unreached)
	}
	testenv.StopTemporalDevServer()
	os.Exit(code)
}

// The bootstrap admin every test system creates (role admin).
const (
	bootstrapAdmin    = "root"
	bootstrapPassword = "e2e-bootstrap-password"
)

// testPayloadKeys encrypt every test system's Temporal payloads, as
// TEMPORAL_PAYLOAD_KEYS does in production (k2 encrypts, k1 is an old key).
const testPayloadKeys = "k2:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=,k1:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="

// system is the whole product running in-process: sandbox, API and worker
// on real listeners, against the dev server and a real database.
type system struct {
	t          *testing.T
	app        *app.App
	apiURL     string
	sandboxURL string
	sandbox    *sandbox.Server
	stateDir   string
	http       *http.Client
	admin      string // a token of the bootstrap admin
}

type options struct {
	sqlite         bool
	paymentTimeout time.Duration
	// autoReceiveAfter is AUTO_RECEIVE_AFTER (0: the default, 7 days).
	autoReceiveAfter time.Duration
	orderNo          func(time.Time) string // the API's order-number generator; nil: the product's
	// wechatCertificates runs WeChat Pay v3 in platform-certificate mode:
	// the sandbox signs with its certificate and the merchant has no
	// public key configured (it downloads /v3/certificates at start).
	wechatCertificates bool
	temporal           string // the Temporal frontend; empty: the package's dev server
	uiOrigin           string // TEMPORAL_UI_ORIGIN; empty: none
	apiAddr            string // the API's listen address; empty: a free loopback port
	// logs receives every process's log, JSON lines at debug (the
	// product's logging.New); nil: discarded (text at warn with -v).
	logs io.Writer
	// adminUser and adminPassword name the bootstrap admin; empty: root
	// and bootstrapPassword.
	adminUser, adminPassword string
}

func startSystem(t *testing.T, o options) *system {
	t.Helper()
	addr := o.temporal
	if addr == "" {
		addr = temporalAddress(t)
	}
	var dsn, sqlitePath string
	if o.sqlite {
		sqlitePath, _ = testenv.SQLite(t)
	} else {
		dsn, _ = testenv.Postgres(t)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if o.logs != nil {
		var err error
		logger, err = logging.New(o.logs, logging.Options{Format: "json", Level: "debug"})
		require.NoError(t, err)
	}

	stateDir := t.TempDir()
	signer := sandbox.SignWithPublicKey
	if o.wechatCertificates {
		signer = sandbox.SignWithCertificate
	}
	sb, err := all.New(sandbox.Options{StateDir: stateDir, NotifyScale: 0.001, Logger: logger, WeChatSigner: signer})
	require.NoError(t, err)
	sandboxURL := serve(t, sb.Handler())
	t.Cleanup(sb.Close)

	if o.adminUser == "" {
		o.adminUser, o.adminPassword = bootstrapAdmin, bootstrapPassword
	}
	if o.apiAddr == "" {
		o.apiAddr = "127.0.0.1:0"
	}
	apiLn, err := net.Listen("tcp", o.apiAddr)
	require.NoError(t, err)
	apiURL := "http://" + apiLn.Addr().String()

	timeout := o.paymentTimeout
	if timeout == 0 {
		timeout = time.Hour
	}
	// The merchant configuration comes from the sandbox, as under make run
	// (its merchant.env); the rest is the system's own.
	env, err := all.MerchantEnv(stateDir, sandboxURL)
	require.NoError(t, err)
	for k, v := range map[string]string{
		"DATABASE_URL":             dsn,
		"SQLITE_PATH":              sqlitePath,
		"TEMPORAL_ADDRESS":         addr,
		"TEMPORAL_TASK_QUEUE":      "orders-" + strings.ReplaceAll(t.Name(), "/", "-"),
		"WECHAT_NOTIFY_URL":        apiURL + "/api/v1/notify/wechatpay",
		"WECHAT_REFUND_NOTIFY_URL": apiURL + "/api/v1/notify/wechatpay/refund",
		"PUBLIC_API_URL":           apiURL,
		"ADMIN_BOOTSTRAP_USER":     o.adminUser,
		"ADMIN_BOOTSTRAP_PASSWORD": o.adminPassword,
		"TEMPORAL_PAYLOAD_KEYS":    testPayloadKeys,
		"TEMPORAL_UI_ORIGIN":       o.uiOrigin,
		// Tests log in and order far faster than any buyer.
		"RATE_LIMIT_LOGIN_PER_IP":         "1000000",
		"RATE_LIMIT_ADMIN_LOGIN_PER_USER": "1000000",
		"RATE_LIMIT_ORDERS_PER_USER":      "1000000",
		"RATE_LIMIT_ORDERS_PER_IP":        "1000000",
		"PAYMENT_TIMEOUT":                 timeout.String(),
		"POINTS_PER_YUAN":                 "1",
		"SEED_DEMO_PRODUCTS":              "true",
	} {
		env[k] = v
	}
	if o.wechatCertificates {
		env["WECHAT_PLATFORM_PUBLIC_KEY_FILE"], env["WECHAT_PLATFORM_PUBLIC_KEY_ID"] = "", ""
	}
	if o.autoReceiveAfter > 0 {
		env["AUTO_RECEIVE_AFTER"] = o.autoReceiveAfter.String()
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	cfg, err := config.Load()
	require.NoError(t, err)
	a, err := app.New(context.Background(), cfg, logger)
	require.NoError(t, err)
	t.Cleanup(a.Close)
	require.NoError(t, a.Prepare(context.Background()))

	w := a.Worker()
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	srv := a.APIWith(func(d *api.Deps) { d.NewOrderNo = o.orderNo })
	go func() { _ = srv.Listener(apiLn) }()
	t.Cleanup(func() { _ = srv.ShutdownWithTimeout(time.Second) })

	s := &system{t: t, app: a, apiURL: apiURL, sandboxURL: sandboxURL, sandbox: sb, stateDir: stateDir, http: &http.Client{Timeout: 30 * time.Second, Transport: apicontract.NewTransport(t, apiURL)}}
	s.admin = s.adminLogin(o.adminUser, o.adminPassword)
	return s
}

// adminLogin signs an admin in and returns the token.
func (s *system) adminLogin(username, password string) string {
	s.t.Helper()
	res := s.api("POST", "/api/v1/admin/login", "", map[string]string{"username": username, "password": password})
	require.Equal(s.t, http.StatusOK, res.Status, "admin login: %s", res.Body)
	return res.JSON(s.t)["token"].(string)
}

func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// response is a decoded HTTP answer.
type response struct {
	Status int
	Body   []byte
}

func (r response) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m), "body: %s", r.Body)
	return m
}

// do sends a request with an optional JSON body and bearer token.
func (s *system) do(method, url, token string, body any, header ...string) response {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(s.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(s.t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := s.http.Do(req)
	require.NoError(s.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(s.t, err)
	return response{Status: res.StatusCode, Body: raw}
}

func (s *system) api(method, path, token string, body any, header ...string) response {
	s.t.Helper()
	return s.do(method, s.apiURL+path, token, body, header...)
}

// login signs a buyer in through the sandbox's code2session.
func (s *system) login(code string) (token string, userID float64) {
	s.t.Helper()
	res := s.api("POST", "/api/v1/auth/wechat/login", "", map[string]string{"code": code})
	require.Equal(s.t, 200, res.Status, "login: %s", res.Body)
	m := res.JSON(s.t)
	return m["token"].(string), m["user"].(map[string]any)["id"].(float64)
}

func (s *system) placeOrder(token string, productID, qty int, channel string) response {
	s.t.Helper()
	return s.api("POST", "/api/v1/orders", token, map[string]any{
		"items":       []map[string]any{{"product_id": productID, "quantity": qty}},
		"pay_channel": channel,
		"address":     map[string]any{"name": "Li Lei", "phone": "13800000000", "detail": "1 Nanjing Rd, Shanghai"},
	})
}

func (s *system) order(token, orderNo string) map[string]any {
	s.t.Helper()
	res := s.api("GET", "/api/v1/orders/"+orderNo, token, nil)
	require.Equal(s.t, 200, res.Status, "get order: %s", res.Body)
	return res.JSON(s.t)
}

// awaitStatus polls the order like a client showing a QR code would.
func (s *system) awaitStatus(token, orderNo, want string) map[string]any {
	s.t.Helper()
	var last map[string]any
	require.EventuallyWithT(s.t, func(c *assert.CollectT) {
		last = s.order(token, orderNo)
		if last["status"] != want {
			c.Errorf("order %s is %v (%v), want %s", orderNo, last["status"], last["status_reason"], want)
		}
	}, 60*time.Second, 50*time.Millisecond)
	return last
}

// sandboxPay simulates the buyer paying at the provider (mode: "" to pay
// and notify, "silent" to pay without notifying, "fail").
func (s *system) sandboxPay(orderNo string, mode ...string) response {
	s.t.Helper()
	url := s.sandboxURL + "/sandbox/orders/" + orderNo + "/pay"
	if len(mode) > 0 {
		url += "?mode=" + mode[0]
	}
	return s.do("POST", url, "", nil)
}

func (s *system) stock(productID uint) int64 {
	s.t.Helper()
	var n int64
	require.NoError(s.t, s.app.DB.Table("products").Select("stock").Where("id = ?", productID).Scan(&n).Error)
	return n
}

func (s *system) count(table, where string, args ...any) int64 {
	s.t.Helper()
	var n int64
	require.NoError(s.t, s.app.DB.Table(table).Where(where, args...).Count(&n).Error)
	return n
}

// workflowResult waits for an order's workflow to reach its outcome and
// returns it from the state query: the workflow of a completed goods order
// stays open for its delivery (days), so its close is not waited for.
func (s *system) workflowResult(orderNo string) contract.OrderResult {
	s.t.Helper()
	var res contract.OrderResult
	require.EventuallyWithT(s.t, func(c *assert.CollectT) {
		q, err := s.app.Temporal.QueryWorkflow(context.Background(), orderNo, "", contract.QueryState)
		if !assert.NoError(c, err) {
			return
		}
		var st contract.OrderState
		if !assert.NoError(c, q.Get(&st)) {
			return
		}
		res = contract.OrderResult{OrderNo: st.OrderNo, Status: st.Status, Reason: st.Reason}
		switch st.Status {
		case contract.StatusPending, contract.StatusAwaitingPayment, contract.StatusPaid, contract.StatusPaidUnfulfilled:
			c.Errorf("order %s is still %s", orderNo, st.Status)
		}
	}, 60*time.Second, 50*time.Millisecond)
	return res
}

// ship ships an order as the bootstrap admin and returns the answer.
func (s *system) ship(orderNo, carrier, trackingNo string) response {
	s.t.Helper()
	return s.api("POST", "/api/v1/admin/orders/"+orderNo+"/ship", s.admin, map[string]string{"carrier": carrier, "tracking_no": trackingNo})
}

// receive confirms receipt of an order as its buyer and returns the answer.
func (s *system) receive(token, orderNo string) response {
	s.t.Helper()
	return s.api("POST", "/api/v1/orders/"+orderNo+"/receive", token, nil)
}
