package bench

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/shopflow/orderpay/internal/app"
	"github.com/shopflow/orderpay/internal/config"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/sandbox"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/all"
	"github.com/shopflow/orderpay/internal/devtools/testenv"
)

func TestCheckLoopback(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:8080", "http://127.9.9.9", "http://localhost:1", "http://[::1]:80"} {
		if err := CheckLoopback(u); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
	for _, u := range []string{"http://10.0.0.1:8080", "http://192.168.1.2", "http://example.com", "https://8.8.8.8", "ftp://127.0.0.1", "127.0.0.1:80"} {
		if err := CheckLoopback(u); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
}

func TestParseChannelMix(t *testing.T) {
	got, err := ParseChannelMix("wechat_jsapi=3, wechat_native,alipay_qr=0")
	if err != nil {
		t.Fatal(err)
	}
	want := []ChannelWeight{{"wechat_jsapi", 3}, {"wechat_native", 1}, {"alipay_qr", 0}}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	for _, bad := range []string{"", "a=x", "a=-1", "=2", "a=0"} {
		if _, err := ParseChannelMix(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestRunIsBounded(t *testing.T) {
	for _, c := range []Config{
		{APIURL: "http://10.1.1.1", SandboxURL: "http://127.0.0.1", Orders: 1},
		{APIURL: "http://127.0.0.1", SandboxURL: "http://127.0.0.1", Concurrency: MaxConcurrency + 1},
		{APIURL: "http://127.0.0.1", SandboxURL: "http://127.0.0.1", Duration: MaxDuration + time.Second},
		{APIURL: "http://127.0.0.1", SandboxURL: "http://127.0.0.1", Orders: MaxOrders + 1},
		{APIURL: "http://127.0.0.1", SandboxURL: "http://127.0.0.1", Duration: time.Second, Warmup: time.Second},
	} {
		if _, err := Run(context.Background(), c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

// slowMachine: the suite shares 2 cores with the dev servers of other
// packages' tests; the default 1 s deadlock detector fires on starvation.
var slowMachine = worker.Options{DeadlockDetectionTimeout: 30 * time.Second}

func TestBareWorkflow(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(slowMachine)
	env.RegisterActivityWithOptions(Noop, activity.RegisterOptions{Name: BareActivityName})
	calls := 0
	env.SetOnActivityStartedListener(func(*activity.Info, context.Context, converter.EncodedValues) { calls++ })
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(BareSignal, nil) }, time.Minute)
	env.ExecuteWorkflow(BareWorkflow)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var out string
	if err := env.GetWorkflowResult(&out); err != nil || out != "completed" {
		t.Fatalf("result %q, %v", out, err)
	}
	if calls != 6 {
		t.Fatalf("%d activities ran, want 6", calls)
	}

	env = s.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(slowMachine)
	env.RegisterActivityWithOptions(Noop, activity.RegisterOptions{Name: BareActivityName})
	env.ExecuteWorkflow(BareWorkflow) // never paid: the 2 h timeout ends it
	if err := env.GetWorkflowResult(&out); err != nil || out != "timeout" {
		t.Fatalf("unpaid result %q, %v", out, err)
	}
}

// TestLoadgenSmoke drives a few orders through the real system (dev
// server, SQLite, sandbox, API and worker in this process): every order
// completes, the notify latency is recorded, the stock adds up.
func TestLoadgenSmoke(t *testing.T) {
	apiURL, sandboxURL := startSystem(t)
	res, err := Run(context.Background(), Config{
		APIURL: apiURL, SandboxURL: sandboxURL, Concurrency: 3, Orders: 9, Users: 2,
		IdempotencyKeys: true, OrderTimeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + res.Text())
	if res.ErrorCount != 0 {
		t.Fatalf("errors: %v", res.Errors)
	}
	if res.Outcomes[OutcomeCompleted] != 9 || res.Started != 9 {
		t.Fatalf("outcomes %v of %d started, want 9 completed", res.Outcomes, res.Started)
	}
	if !res.StockOK || len(res.Stock) != 2 {
		t.Fatalf("stock check: %+v", res.Stock)
	}
	if res.PlaceOrder.N != 9 || res.NotifyHandler.N != 9 || res.EndToEnd.N != 9 {
		t.Fatalf("latency samples: place %d, notify %d, e2e %d", res.PlaceOrder.N, res.NotifyHandler.N, res.EndToEnd.N)
	}
	// Each buyer follows its order with one long poll (changed_from),
	// answered when the order completes: not a poll every 20 ms.
	if res.Polls > 1.5 {
		t.Fatalf("%.1f order reads per order, want about 1 (the long poll)", res.Polls)
	}

	// The flash sale: the mug has 100 in stock; 3 orders of 40 can sell 2.
	res, err = Run(context.Background(), Config{
		APIURL: apiURL, SandboxURL: sandboxURL, Concurrency: 3, Orders: 3, Quantity: 40,
		HotSKU: 3, HotRatio: 1, OrderTimeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + res.Text())
	if !res.StockOK || res.ErrorCount != 0 {
		t.Fatalf("flash sale: stock %+v, errors %v", res.Stock, res.Errors)
	}
	sold := res.Outcomes[OutcomeCompleted]
	if sold != 2 || res.Outcomes[OutcomeRejectedNoStock]+res.Outcomes[OutcomeUnfulfilled] != 1 {
		t.Fatalf("flash sale outcomes %v, want 2 completed and 1 refused or refunded", res.Outcomes)
	}
	if s := res.Sale; s == nil || s.Orders != 3 || s.Accepted != 2 || s.Completed != 2 || s.Oversold {
		t.Fatalf("flash sale account %+v, want 3 orders, 2 accepted and completed, no oversell", res.Sale)
	}
}

// startSystem runs the product in this process, as the e2e tests do.
func startSystem(t *testing.T) (apiURL, sandboxURL string) {
	t.Helper()
	cli := testenv.TemporalCLI(t)
	dev, err := testsuite.StartDevServer(context.Background(), testsuite.DevServerOptions{
		ExistingPath: cli, LogLevel: "error",
		ExtraArgs: append([]string{"--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"}, contract.SearchAttributeFlags...),
	})
	if err != nil {
		t.Fatalf("dev server: %v", err)
	}
	t.Cleanup(func() { _ = dev.Stop() })
	sqlitePath, _ := testenv.SQLite(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))

	stateDir := t.TempDir()
	sb, err := all.New(sandbox.Options{StateDir: stateDir, NotifyScale: 0.001, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	sandboxURL = serve(t, sb.Handler())
	apiLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	apiURL = "http://" + apiLn.Addr().String()
	env, err := all.MerchantEnv(stateDir, sandboxURL) // what make run loads from merchant.env
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"DATABASE_URL":             "",
		"SQLITE_PATH":              sqlitePath,
		"TEMPORAL_ADDRESS":         dev.FrontendHostPort(),
		"TEMPORAL_TASK_QUEUE":      "orders-loadgen",
		"WECHAT_NOTIFY_URL":        apiURL + "/api/v1/notify/wechatpay",
		"WECHAT_REFUND_NOTIFY_URL": apiURL + "/api/v1/notify/wechatpay/refund",
		"PUBLIC_API_URL":           apiURL,
		"PAYMENT_TIMEOUT":          "1h",
		"SEED_DEMO_PRODUCTS":       "true",
		"ADMIN_BOOTSTRAP_PASSWORD": "bench-bootstrap-password",
		// The load generator logs in and orders from one address.
		"RATE_LIMIT_LOGIN_PER_IP":         "1000000",
		"RATE_LIMIT_ADMIN_LOGIN_PER_USER": "1000000",
		"RATE_LIMIT_ORDERS_PER_USER":      "1000000",
		"RATE_LIMIT_ORDERS_PER_IP":        "1000000",
	} {
		env[k] = v
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	if err := a.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	w := a.Worker()
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	srv := a.API()
	go func() { _ = srv.Listener(apiLn) }()
	t.Cleanup(func() { _ = srv.ShutdownWithTimeout(time.Second) })
	return apiURL, sandboxURL
}

func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + strings.TrimPrefix(ln.Addr().String(), "http://")
}
