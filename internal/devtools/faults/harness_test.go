//go:build faults

package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/app"
	"github.com/shopflow/orderpay/internal/config"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/sandbox"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/alipaysb"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/all"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/baidusb"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/wechatv2sb"
	"github.com/shopflow/orderpay/internal/devtools/testenv"
	"github.com/shopflow/orderpay/internal/payments"
	"github.com/shopflow/orderpay/workflows"
)

// Demo catalogue ids (catalog.DemoProducts, seeded into every fresh schema).
const (
	coffeeID = 1 // 6800 cents, 100000 in stock
	mugID    = 3 // 1 cent, 100 in stock: the flash-sale SKU
)

func temporalAddress(t *testing.T) string { return testenv.TemporalDevServer(t) }

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.StopTemporalDevServer()
	if workerBinDir != "" {
		_ = os.RemoveAll(workerBinDir)
	}
	os.Exit(code)
}

// options shape one system under test.
type options struct {
	pgProxy        bool          // the application reaches PostgreSQL through a proxy the test can cut
	temporalProxy  bool          // the application reaches Temporal through a proxy the test can cut
	noWorker       bool          // no in-process worker (the test runs cmd/worker itself)
	paymentTimeout time.Duration // default 1h
	notifyScale    float64       // the sandboxes' retry schedule scale; default 0.001
}

// system is the product running in-process against real infrastructure:
// the provider sandboxes, the API on a real listener, the worker (unless
// noWorker), a Temporal dev server and a fresh PostgreSQL schema.
type system struct {
	t   *testing.T
	app *app.App
	// db is the test's own connection to the schema: it never goes
	// through the proxies, so the test can read the truth during an outage.
	db         *gorm.DB
	dsn        string // the schema's DSN, direct
	appDSN     string // the DSN the application uses (through pg proxy if any)
	temporal   string // the Temporal address the application uses
	taskQueue  string
	apiURL     string
	sandboxURL string
	stateDir   string
	sandbox    *sandbox.Server
	alipay     *alipaysb.Server
	wechatV2   *wechatv2sb.Server
	baidu      *baidusb.Server
	pg         *proxy // nil unless options.pgProxy
	tp         *proxy // nil unless options.temporalProxy
	worker     sdkworker.Worker
	http       *http.Client
	logPath    string
}

func startSystem(t *testing.T, o options) *system {
	t.Helper()
	s := &system{t: t}
	s.temporal = temporalAddress(t)
	s.dsn, s.db = testenv.Postgres(t)
	s.appDSN = s.dsn
	if o.pgProxy {
		u, err := url.Parse(s.dsn)
		if err != nil || u.Host == "" {
			testenv.Unavailable(t, "the PostgreSQL proxy needs a URL-form TEST_DATABASE_URL, got %q", s.dsn)
		}
		s.pg = newProxy(t, "postgres", u.Host)
		u.Host = s.pg.addr
		s.appDSN = u.String()
	}
	if o.temporalProxy {
		s.tp = newProxy(t, "temporal", s.temporal)
		s.temporal = s.tp.addr
	}

	// The application's logs go to a file, printed when the test fails.
	s.stateDir = t.TempDir()
	s.logPath = s.stateDir + "/app.log"
	logFile, err := os.Create(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		logFile.Close()
		if t.Failed() {
			dumpTail(t, "application log", s.logPath, 80)
		}
		if dir := os.Getenv("FAULTS_KEEP_LOGS"); dir != "" { // keep every log for a look afterwards
			if raw, err := os.ReadFile(s.logPath); err == nil {
				_ = os.WriteFile(filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "-")+".log"), raw, 0o644)
			}
		}
	})
	logger := slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelInfo}))

	scale := o.notifyScale
	if scale == 0 {
		scale = 0.001
	}
	s.alipay, err = alipaysb.New(alipaysb.Options{StateDir: s.stateDir, NotifyScale: scale, Logger: logger})
	must(t, err)
	s.wechatV2, err = wechatv2sb.New(wechatv2sb.Options{StateDir: s.stateDir, NotifyScale: scale, Logger: logger})
	must(t, err)
	s.baidu, err = baidusb.New(baidusb.Options{StateDir: s.stateDir, NotifyScale: scale, Logger: logger})
	must(t, err)
	s.sandbox, err = sandbox.New(sandbox.Options{StateDir: s.stateDir, NotifyScale: scale, Logger: logger,
		Providers: []sandbox.Provider{s.alipay, s.wechatV2, s.baidu}})
	must(t, err)
	s.sandboxURL = serve(t, s.sandbox.Handler())
	t.Cleanup(s.sandbox.Close)

	apiLn, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	s.apiURL = "http://" + apiLn.Addr().String()

	timeout := o.paymentTimeout
	if timeout == 0 {
		timeout = time.Hour
	}
	s.taskQueue = "faults-" + strings.ReplaceAll(t.Name(), "/", "-")
	for k, v := range s.env(timeout) {
		t.Setenv(k, v)
	}
	cfg, err := config.Load()
	must(t, err)
	s.app, err = app.New(context.Background(), cfg, logger)
	must(t, err)
	t.Cleanup(s.app.Close)
	must(t, s.app.Prepare(context.Background()))

	if !o.noWorker {
		s.worker = s.app.Worker()
		must(t, s.worker.Start())
		t.Cleanup(s.worker.Stop)
	}

	srv := s.app.API()
	go func() { _ = srv.Listener(apiLn) }()
	t.Cleanup(func() { _ = srv.ShutdownWithTimeout(time.Second) })

	s.http = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		MaxIdleConns: 2000, MaxIdleConnsPerHost: 2000, IdleConnTimeout: time.Minute,
	}}
	return s
}

// env is the configuration of the API and worker processes (see
// internal/config): the sandbox's merchant configuration (what make run
// loads from its merchant.env) and the system's own settings.
func (s *system) env(paymentTimeout time.Duration) map[string]string {
	env, err := all.MerchantEnv(s.stateDir, s.sandboxURL)
	must(s.t, err)
	for k, v := range map[string]string{
		"DATABASE_URL":        s.appDSN,
		"SQLITE_PATH":         "",
		"TEMPORAL_ADDRESS":    s.temporal,
		"TEMPORAL_NAMESPACE":  "default",
		"TEMPORAL_TASK_QUEUE": s.taskQueue,
		// A worker process run by a test serves /metrics and the probes
		// on a free port (several may run at once).
		"WORKER_HTTP_ADDR":         "127.0.0.1:0",
		"WECHAT_NOTIFY_URL":        s.apiURL + "/api/v1/notify/wechatpay",
		"WECHAT_REFUND_NOTIFY_URL": s.apiURL + "/api/v1/notify/wechatpay/refund",
		"PUBLIC_API_URL":           s.apiURL,
		"PAYMENT_TIMEOUT":          paymentTimeout.String(),
		"POINTS_PER_YUAN":          "1",
		"SEED_DEMO_PRODUCTS":       "true",
		"RECONCILE_EVERY":          "24h",
		"ADMIN_BOOTSTRAP_USER":     "root",
		"ADMIN_BOOTSTRAP_PASSWORD": "faults-bootstrap-password",
		// Payloads encrypted as in production (the worker processes too).
		"TEMPORAL_PAYLOAD_KEYS": "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
		// The hot-SKU test places 1,000 orders from one address at once.
		"RATE_LIMIT_LOGIN_PER_IP":         "1000000",
		"RATE_LIMIT_ADMIN_LOGIN_PER_USER": "1000000",
		"RATE_LIMIT_ORDERS_PER_USER":      "1000000",
		"RATE_LIMIT_ORDERS_PER_IP":        "1000000",
	} {
		env[k] = v
	}
	return env
}

func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func dumpTail(t *testing.T, what, path string, lines int) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return
	}
	all := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	t.Logf("last %d lines of the %s:\n%s", len(all), what, strings.Join(all, "\n"))
}

// response is a decoded HTTP answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
	Err    error // transport error (the status is then 0)
}

func (r response) JSON() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m
}

// do sends a request; it never fails the test, so goroutines may call it.
func (s *system) do(method, url, token string, body any, header ...string) response {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return response{Err: err}
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return response{Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := s.http.Do(req)
	if err != nil {
		return response{Err: err}
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	return response{Status: res.StatusCode, Header: res.Header, Body: raw, Err: err}
}

func (s *system) api(method, path, token string, body any, header ...string) response {
	return s.do(method, s.apiURL+path, token, body, header...)
}

// login signs a buyer in through the sandbox's code2session.
func (s *system) login(code string) (token string, userID uint, err error) {
	res := s.api("POST", "/api/v1/auth/wechat/login", "", map[string]string{"code": code})
	if res.Err != nil || res.Status != 200 {
		return "", 0, fmt.Errorf("login %s: %d %s %v", code, res.Status, res.Body, res.Err)
	}
	var m struct {
		Token string `json:"token"`
		User  struct {
			ID uint `json:"id"`
		} `json:"user"`
	}
	if err := json.Unmarshal(res.Body, &m); err != nil {
		return "", 0, err
	}
	return m.Token, m.User.ID, nil
}

func (s *system) mustLogin(code string) (string, uint) {
	s.t.Helper()
	token, id, err := s.login(code)
	must(s.t, err)
	return token, id
}

func orderBody(productID, qty int, channel string) map[string]any {
	return map[string]any{
		"items":       []map[string]any{{"product_id": productID, "quantity": qty}},
		"pay_channel": channel,
		"address":     map[string]any{"name": "Li Lei", "phone": "13800000000", "detail": "1 Nanjing Rd, Shanghai"},
	}
}

// placeOrder posts an order; header pairs (e.g. an Idempotency-Key) are optional.
func (s *system) placeOrder(token string, productID, qty int, channel string, header ...string) response {
	return s.api("POST", "/api/v1/orders", token, orderBody(productID, qty, channel), header...)
}

// mustPlace places an order that must be accepted and returns its number.
func (s *system) mustPlace(token string, productID, qty int, channel string) string {
	s.t.Helper()
	res := s.placeOrder(token, productID, qty, channel)
	if res.Status != http.StatusCreated {
		s.t.Fatalf("place order: %d %s %v", res.Status, res.Body, res.Err)
	}
	return res.JSON()["order_no"].(string)
}

// sandboxPay simulates the buyer paying at the provider (mode "" pays and
// notifies, "silent" pays without notifying).
func (s *system) sandboxPay(orderNo string, mode ...string) response {
	u := s.sandboxURL + "/sandbox/orders/" + orderNo + "/pay"
	if len(mode) > 0 && mode[0] != "" {
		u += "?mode=" + mode[0]
	}
	return s.do("POST", u, "", nil)
}

func (s *system) mustPay(orderNo string, mode ...string) map[string]any {
	s.t.Helper()
	res := s.sandboxPay(orderNo, mode...)
	if res.Status != 200 {
		s.t.Fatalf("sandbox pay %s: %d %s %v", orderNo, res.Status, res.Body, res.Err)
	}
	return res.JSON()
}

// --- reading the truth (direct connection) ---------------------------------

func (s *system) count(table, where string, args ...any) int64 {
	s.t.Helper()
	var n int64
	must(s.t, s.db.Table(table).Where(where, args...).Count(&n).Error)
	return n
}

func (s *system) sum(table, column, where string, args ...any) int64 {
	s.t.Helper()
	var n int64
	must(s.t, s.db.Table(table).Select("COALESCE(SUM("+column+"), 0)").Where(where, args...).Scan(&n).Error)
	return n
}

func (s *system) stock(productID uint) int64 {
	s.t.Helper()
	var n int64
	must(s.t, s.db.Table("products").Select("stock").Where("id = ?", productID).Scan(&n).Error)
	return n
}

// statuses counts orders by status, among orderNos (all orders when empty).
func (s *system) statuses(orderNos ...string) map[string]int {
	s.t.Helper()
	var rows []struct {
		Status string
		N      int
	}
	q := s.db.Table("orders").Select("status, COUNT(*) AS n").Group("status")
	if len(orderNos) > 0 {
		q = q.Where("order_no IN ?", orderNos)
	}
	must(s.t, q.Scan(&rows).Error)
	out := map[string]int{}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out
}

// statusOf returns each order's status.
func (s *system) statusOf(orderNos []string) map[string]string {
	s.t.Helper()
	var rows []struct{ OrderNo, Status string }
	must(s.t, s.db.Table("orders").Select("order_no, status").Where("order_no IN ?", orderNos).Scan(&rows).Error)
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.OrderNo] = r.Status
	}
	return out
}

// awaitStatuses polls (direct connection) until every order in orderNos has
// one of the final statuses, or fails at the deadline.
func (s *system) awaitStatuses(orderNos []string, final []string, within time.Duration) map[string]int {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for {
		var n int64
		must(s.t, s.db.Table("orders").Where("order_no IN ? AND status IN ?", orderNos, final).Count(&n).Error)
		if int(n) == len(orderNos) {
			return s.statuses(orderNos...)
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("after %s only %d of %d orders reached %v; by status: %v", within, n, len(orderNos), final, s.statuses(orderNos...))
		}
		pause()
	}
}

// eventually polls cond until it holds or the deadline passes.
func (s *system) eventually(what string, within time.Duration, cond func() bool) {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		pause()
	}
}

// pause is the polling interval of every wait: waits poll a condition
// with a deadline, they never sleep for a guessed duration.
func pause() { time.Sleep(25 * time.Millisecond) }

// snapshot returns every row of every table of the schema, as JSON text per
// table, to compare states before and after a fault.
func (s *system) snapshot() map[string]string {
	s.t.Helper()
	var tables []string
	must(s.t, s.db.Raw(`SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`).Scan(&tables).Error)
	out := make(map[string]string, len(tables))
	for _, tbl := range tables {
		var rows string
		q := fmt.Sprintf(`SELECT COALESCE(json_agg(x ORDER BY x::text), '[]')::text FROM %q x`, tbl)
		must(s.t, s.db.Raw(q).Scan(&rows).Error)
		out[tbl] = rows
	}
	return out
}

// workflowState queries an order's workflow.
func (s *system) workflowState(orderNo string) (contract.OrderState, error) {
	var st contract.OrderState
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q, err := s.app.Temporal.QueryWorkflow(ctx, orderNo, "", contract.QueryState)
	if err != nil {
		return st, err
	}
	return st, q.Get(&st)
}

// workflowResult waits for an order's workflow to reach its outcome and
// returns it from the state query: the workflow of a completed goods order
// stays open for its delivery (days), so its close is not waited for.
func (s *system) workflowResult(orderNo string) (contract.OrderResult, error) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st, err := s.workflowState(orderNo)
		if err == nil && settledStatus(st.Status) {
			return contract.OrderResult{OrderNo: st.OrderNo, Status: st.Status, Reason: st.Reason}, nil
		}
		if time.Now().After(deadline) {
			return contract.OrderResult{OrderNo: orderNo, Status: st.Status, Reason: st.Reason}, fmt.Errorf("order %s not settled: %v", orderNo, err)
		}
		pause()
	}
}

// settledStatus reports an order status its workflow ends in (or, for a
// completed goods order, keeps through its delivery).
func settledStatus(status string) bool {
	switch status {
	case contract.StatusCompleted, contract.StatusClosed, contract.StatusCancelled, contract.StatusRefunded,
		contract.StatusPartiallyRefunded, contract.StatusRejected:
		return true
	}
	return false
}

// startLatePayment does what the API does with a verified payment whose
// order workflow has finished: run the late-payment workflow, and wait for it.
func (s *system) startLatePayment(p payments.Paid) (*contract.RefundOutcome, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run, err := s.app.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       contract.LatePaymentWorkflowID(p.OutTradeNo),
		TaskQueue:                s.taskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}, workflows.LatePaymentWorkflow, p)
	if err != nil {
		return nil, err
	}
	var out contract.RefundOutcome
	if err := run.Get(ctx, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// signalsReceived counts the signals in an order workflow's history.
func (s *system) signalsReceived(workflowID string) int {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	it := s.app.Temporal.GetWorkflowHistory(ctx, workflowID, "", false, 0)
	n := 0
	for it.HasNext() {
		ev, err := it.Next()
		must(s.t, err)
		if ev.GetWorkflowExecutionSignaledEventAttributes() != nil {
			n++
		}
	}
	return n
}

// workflowExists reports whether a workflow id was ever started.
func (s *system) workflowExists(workflowID string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := s.app.Temporal.DescribeWorkflowExecution(ctx, workflowID, "")
	return err == nil
}
