package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/app"
	"github.com/shopflow/orderpay/internal/config"
	"github.com/shopflow/orderpay/internal/devtools/apicontract"
	"github.com/shopflow/orderpay/internal/devtools/sandbox"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/all"
	"github.com/shopflow/orderpay/internal/devtools/testenv"
)

// apiSystem is the API built exactly as the binaries build it (merchant
// configuration from the provider sandbox, config.Load, app.New) on a fresh
// PostgreSQL schema, driven in-process through fiber's app.Test. Temporal
// is a lazy client pointed at a port nothing listens on, so every request
// that would reach a workflow is answered 503 and nothing is started.
type apiSystem struct {
	t        *testing.T
	app      *app.App
	api      *fiber.App
	sandbox  *sandbox.Server
	stateDir string
}

// The bootstrap admin every test system creates.
const (
	bootstrapAdmin    = "root"
	bootstrapPassword = "api-test-bootstrap-password"
)

// newAPISystem starts the provider sandbox (for mini-program login and
// its credentials), loads the configuration from its merchant.env and
// builds the API on a migrated, seeded PostgreSQL schema. env holds
// name/value pairs that override the test configuration (an empty value
// unsets the variable).
func newAPISystem(t *testing.T, env ...string) *apiSystem {
	t.Helper()
	s := startAPISystem(t, env...)
	require.NoError(t, s.app.Prepare(context.Background()))
	return s
}

// startAPISystem is newAPISystem without Prepare (no demo catalogue, no bootstrap
// admin yet), for tests of what Prepare does.
func startAPISystem(t *testing.T, overrides ...string) *apiSystem {
	t.Helper()
	dsn, _ := testenv.Postgres(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}

	stateDir := t.TempDir()
	sb, err := all.New(sandbox.Options{StateDir: stateDir, NotifyScale: 0.001, Logger: logger})
	require.NoError(t, err)
	t.Cleanup(sb.Close)
	sbSrv := httptest.NewServer(sb.Handler())
	t.Cleanup(sbSrv.Close)

	// No listener: the notify URLs are only written into prepay requests,
	// which these tests never send.
	const apiURL = "http://127.0.0.1:1"
	env, err := all.MerchantEnv(stateDir, sbSrv.URL)
	require.NoError(t, err)
	settings := map[string]string{
		"DATABASE_URL":             dsn,
		"SQLITE_PATH":              "",
		"TEMPORAL_ADDRESS":         unusedAddress(t),
		"TEMPORAL_TASK_QUEUE":      "orders-" + strings.ReplaceAll(t.Name(), "/", "-"),
		"WECHAT_NOTIFY_URL":        apiURL + "/api/v1/notify/wechatpay",
		"WECHAT_REFUND_NOTIFY_URL": apiURL + "/api/v1/notify/wechatpay/refund",
		"PUBLIC_API_URL":           apiURL,
		"ADMIN_BOOTSTRAP_USER":     bootstrapAdmin,
		"ADMIN_BOOTSTRAP_PASSWORD": bootstrapPassword,
		"ADMIN_TOKEN":              "",
		"PAYMENT_TIMEOUT":          "1h",
		"POINTS_PER_YUAN":          "1",
		"SEED_DEMO_PRODUCTS":       "true",
		// The tests log in and order far faster than any buyer; those
		// about the limits set their own.
		"RATE_LIMIT_LOGIN_PER_IP":         "100000",
		"RATE_LIMIT_ADMIN_LOGIN_PER_USER": "100000",
		"RATE_LIMIT_ORDERS_PER_USER":      "100000",
		"RATE_LIMIT_ORDERS_PER_IP":        "100000",
	}
	for k, v := range settings {
		env[k] = v
	}
	for i := 0; i+1 < len(overrides); i += 2 {
		env[overrides[i]] = overrides[i+1]
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	cfg, err := config.Load()
	require.NoError(t, err)
	a, err := app.New(context.Background(), cfg, logger)
	require.NoError(t, err)
	t.Cleanup(a.Close)
	return &apiSystem{t: t, app: a, api: a.API(), sandbox: sb, stateDir: stateDir}
}

// unusedAddress returns a local address nothing listens on (a port the
// kernel handed out and that was closed again at once).
func unusedAddress(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// response is an API answer as a client sees it.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// errorBody decodes the API's {"error":{"code","message"}} envelope.
func (r response) errorBody(t *testing.T) (code, message string) {
	t.Helper()
	var b struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &b), "body: %s", r.Body)
	return b.Error.Code, b.Error.Message
}

// do sends a request through app.Test. body may be nil, a string, []byte
// or a value to encode as JSON; header holds name/value pairs.
func (s *apiSystem) do(method, path, token string, body any, header ...string) response {
	s.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		raw, err = json.Marshal(b)
		require.NoError(s.t, err)
	}
	req := httptest.NewRequest(method, path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := s.api.Test(req, -1)
	require.NoError(s.t, err)
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	require.NoError(s.t, err)
	// Every exchange is checked against the OpenAPI document.
	if err := apicontract.Check(req, raw, res.StatusCode, res.Header, out); err != nil {
		s.t.Errorf("contract: %v", err)
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: out}
}

// adminLogin signs an admin in and returns the token.
func (s *apiSystem) adminLogin(username, password string, header ...string) string {
	s.t.Helper()
	res := s.do("POST", "/api/v1/admin/login", "", map[string]string{"username": username, "password": password}, header...)
	require.Equal(s.t, http.StatusOK, res.Status, "admin login: %s", res.Body)
	var l struct {
		Token string `json:"token"`
	}
	require.NoError(s.t, json.Unmarshal(res.Body, &l))
	require.NotEmpty(s.t, l.Token)
	return l.Token
}

// login signs a buyer in with a mini-program code (the sandbox answers
// code2session) and returns the API token and user id.
func (s *apiSystem) login(code string) (string, uint) {
	s.t.Helper()
	res := s.do("POST", "/api/v1/auth/wechat/login", "", map[string]string{"code": code})
	require.Equal(s.t, http.StatusOK, res.Status, "login: %s", res.Body)
	var l struct {
		Token string `json:"token"`
		User  struct {
			ID uint `json:"id"`
		} `json:"user"`
	}
	require.NoError(s.t, json.Unmarshal(res.Body, &l))
	require.NotEmpty(s.t, l.Token)
	return l.Token, l.User.ID
}

// productID looks a seeded demo product up by a fragment of its name.
func (s *apiSystem) productID(nameLike string) uint {
	s.t.Helper()
	var id uint
	require.NoError(s.t, s.app.DB.Table("products").Select("id").Where("name LIKE ?", "%"+nameLike+"%").Limit(1).Scan(&id).Error)
	require.NotZero(s.t, id, "no product like %q", nameLike)
	return id
}

// count counts a table's rows.
func (s *apiSystem) count(table string) int64 {
	s.t.Helper()
	var n int64
	require.NoError(s.t, s.app.DB.Table(table).Count(&n).Error)
	return n
}

// state is what a refused request must leave untouched: the rows an order
// or payment writes, the stock and the wallets.
type state struct {
	Orders, Payments, IdempotencyKeys, WalletEntries, Stock int64
}

// snapshot reads the state.
func (s *apiSystem) snapshot() state {
	s.t.Helper()
	var stock int64
	require.NoError(s.t, s.app.DB.Table("products").Select("COALESCE(SUM(stock), 0)").Scan(&stock).Error)
	return state{
		Orders: s.count("orders"), Payments: s.count("payments"), IdempotencyKeys: s.count("idempotency_keys"),
		WalletEntries: s.count("wallet_entries"), Stock: stock,
	}
}
