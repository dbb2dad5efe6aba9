// Package model drives a running shop like many careless buyers and a busy
// operator at once, then proves with the books checker (package books)
// that no money was lost or created.
//
// Each session is one buyer with its own random source (seed + session
// index) that mixes: place an order on any channel, re-pay on another
// channel, pay attempt k in the sandbox (old attempts included, so late
// payments of closed attempts happen), re-send a payment notify, cancel,
// let the payment window expire (the shop's PAYMENT_TIMEOUT), partial and
// full admin refunds (some failed by the provider), wallet top-ups and
// spending from the wallet. Only the public API and the sandbox's HTTP API
// are used.
package model

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/books"
)

// Demo catalogue ids (catalog.DemoProducts, seeded in that order).
const (
	coffeeID     = 1 // 6800 cents
	dripperID    = 2 // 12900 cents
	mugID        = 3 // 1 cent, 100 in stock: runs out, so buyers are refused at placement
	membershipID = 4 // 1990 cents, 30 days
	topUpID      = 5 // 10000 cents of wallet balance
	sampleID     = 6 // free
)

// Channels a buyer may place or re-pay on.
var Channels = []string{
	contract.ChannelWeChatJSAPI, contract.ChannelWeChatNative, contract.ChannelWeChatH5,
	contract.ChannelWeChatV2JSAPI, contract.ChannelWeChatV2Native,
	contract.ChannelAlipayQR, contract.ChannelAlipayWap, contract.ChannelAlipayPage,
	contract.ChannelBaidu, contract.ChannelBalance,
}

// Config is one model run.
type Config struct {
	APIURL, SandboxURL       string
	AdminUser, AdminPassword string   // an account of role admin or finance
	DB                       *gorm.DB // the shop's database, read by the books checker
	Seed                     int64
	Sessions                 int // concurrent buyers
	Actions                  int // actions per buyer
	// PointsPerYuan is the shop's POINTS_PER_YUAN.
	PointsPerYuan int64
	// Settle bounds the wait for money in flight after the last action.
	Settle time.Duration
	// Reconcile, when set, runs one reconciliation pass after the last
	// action, as the shop's Schedule does every few minutes: a payment whose
	// notify raced its order's closing is found by reconciliation, not by
	// the order's workflow, and the books are checked once it has run.
	Reconcile func(ctx context.Context) error
	// Logf receives progress lines; nil discards them.
	Logf func(format string, args ...any)
}

// Result is what a run did and what the books say.
type Result struct {
	Seed     int64
	Sessions int
	Actions  int            // actions performed
	ByAction map[string]int // actions by name
	Orders   int            // orders placed
	// ServerErrors lists the shop's answers with status 500 (or a
	// transport failure): a bug whatever the request.
	ServerErrors []string
	// Overloaded counts 502/503/504 answers; OverloadedSeen lists the
	// first few.
	Overloaded     int
	OverloadedSeen []string
	Report         *books.Report // the final check, nothing in flight allowed
	Settled        time.Duration // how long money stayed in flight after the last action
}

// Figures is the one-line summary the tests print.
func (r *Result) Figures() string {
	d := 0
	if r.Report != nil {
		d = len(r.Report.Discrepancies)
	}
	names := make([]string, 0, len(r.ByAction))
	for k := range r.ByAction {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, k := range names {
		parts = append(parts, fmt.Sprintf("%s=%d", k, r.ByAction[k]))
	}
	var pays, refunds int
	if r.Report != nil {
		pays, refunds = r.Report.Payments, r.Report.Refunds
	}
	return fmt.Sprintf("model: seed=%d sessions=%d actions=%d orders=%d provider_payments=%d provider_refunds=%d server_errors=%d overloaded=%d settled_in=%s discrepancies=%d (%s)",
		r.Seed, r.Sessions, r.Actions, r.Orders, pays, refunds, len(r.ServerErrors), r.Overloaded, r.Settled.Round(100*time.Millisecond), d, strings.Join(parts, " "))
}

// InitialStock is the demo catalogue's stock by product id.
func InitialStock() map[uint]int64 {
	out := map[uint]int64{}
	for i, p := range catalog.DemoProducts() {
		out[uint(i+1)] = p.Stock
	}
	return out
}

// runner is the shared state of one run.
type runner struct {
	cfg   Config
	hc    *http.Client
	admin string
	mu    sync.Mutex
	res   *Result
}

// Run drives cfg.Sessions buyers through cfg.Actions actions each, waits
// up to cfg.Settle for money in flight to settle, and checks the books.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Settle == 0 {
		cfg.Settle = 2 * time.Minute
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	r := &runner{cfg: cfg, hc: &http.Client{Timeout: 30 * time.Second},
		res: &Result{Seed: cfg.Seed, Sessions: cfg.Sessions, ByAction: map[string]int{}}}
	st, body := r.call(ctx, "POST", cfg.APIURL+"/api/v1/admin/login", "", map[string]string{"username": cfg.AdminUser, "password": cfg.AdminPassword})
	if st != http.StatusOK {
		return nil, fmt.Errorf("model: admin login answered %d: %s", st, body)
	}
	var login struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(body, &login); err != nil {
		return nil, fmt.Errorf("model: admin login: %w", err)
	}
	r.admin = login.Token

	var wg sync.WaitGroup
	for i := 0; i < cfg.Sessions; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			b := &buyer{r: r, rnd: rand.New(rand.NewSource(cfg.Seed*1_000_003 + int64(i))), code: fmt.Sprintf("model-%d-%d", cfg.Seed, i)}
			b.run(ctx)
		}(i)
	}
	wg.Wait()

	start := time.Now()
	if cfg.Reconcile != nil {
		if err := cfg.Reconcile(ctx); err != nil {
			return nil, fmt.Errorf("model: reconciliation pass: %w", err)
		}
	}
	opt := books.Options{PointsPerYuan: cfg.PointsPerYuan, InitialStock: InitialStock(), AllowInFlight: true}
	for {
		b, err := books.Fetch(ctx, r.hc, cfg.SandboxURL)
		if err != nil {
			return nil, err
		}
		rep, err := books.Check(ctx, cfg.DB, b, opt)
		if err != nil {
			return nil, err
		}
		if len(rep.InFlight) == 0 || time.Since(start) > cfg.Settle {
			if len(rep.InFlight) > 0 {
				cfg.Logf("model: still in flight after %s:\n%s", cfg.Settle, rep)
			}
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	r.res.Settled = time.Since(start)
	b, err := books.Fetch(ctx, r.hc, cfg.SandboxURL)
	if err != nil {
		return nil, err
	}
	opt.AllowInFlight = false
	if r.res.Report, err = books.Check(ctx, cfg.DB, b, opt); err != nil {
		return nil, err
	}
	return r.res, nil
}

// call sends a JSON request and returns the status and body; transport
// failures and 5xx answers are recorded.
func (r *runner) call(ctx context.Context, method, url, token string, body any) (int, []byte) {
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		r.serverError(fmt.Sprintf("%s %s: %v", method, url, err))
		return 0, nil
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := r.hc.Do(req)
	if err != nil {
		r.serverError(fmt.Sprintf("%s %s: %v", method, url, err))
		return 0, nil
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	switch {
	case res.StatusCode == http.StatusBadGateway || res.StatusCode == http.StatusServiceUnavailable || res.StatusCode == http.StatusGatewayTimeout:
		r.mu.Lock()
		r.res.Overloaded++
		if len(r.res.OverloadedSeen) < 5 {
			r.res.OverloadedSeen = append(r.res.OverloadedSeen, fmt.Sprintf("%s %s → %d %s", method,
				strings.TrimPrefix(strings.TrimPrefix(url, r.cfg.APIURL), r.cfg.SandboxURL), res.StatusCode, raw))
		}
		r.mu.Unlock()
	case res.StatusCode >= 500 && strings.HasPrefix(url, r.cfg.SandboxURL):
		// The sandbox answers some simulated buyer failures with 500
		// (Alipay's pay mode fail): the provider's side, not the shop's.
	case res.StatusCode >= 500:
		r.serverError(fmt.Sprintf("%s %s → %d %s", method, strings.TrimPrefix(strings.TrimPrefix(url, r.cfg.APIURL), r.cfg.SandboxURL), res.StatusCode, raw))
	}
	return res.StatusCode, raw
}

func (r *runner) serverError(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res.ServerErrors = append(r.res.ServerErrors, s)
}

func (r *runner) count(action string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res.Actions++
	r.res.ByAction[action]++
	if action == "place" || action == "top_up" || action == "spend" {
		r.res.Orders++
	}
}

// order is what a buyer remembers of one of its orders.
type order struct {
	no       string
	amount   int64
	tradeNos []string // out_trade_no of every attempt opened
}

// buyer is one session.
type buyer struct {
	r      *runner
	rnd    *rand.Rand
	code   string
	token  string
	orders []*order
}

func (b *buyer) run(ctx context.Context) {
	st, body := b.r.call(ctx, "POST", b.r.cfg.APIURL+"/api/v1/auth/wechat/login", "", map[string]string{"code": b.code})
	var login struct {
		Token string `json:"token"`
	}
	if st != http.StatusOK || json.Unmarshal(body, &login) != nil {
		b.r.serverError(fmt.Sprintf("login %s → %d %s", b.code, st, body))
		return
	}
	b.token = login.Token
	for i := 0; i < b.r.cfg.Actions && ctx.Err() == nil; i++ {
		b.step(ctx)
		time.Sleep(time.Duration(b.rnd.Intn(150)) * time.Millisecond)
	}
}

// pick returns one of the buyer's orders, the recent ones likelier.
func (b *buyer) pick() *order {
	if len(b.orders) == 0 {
		return nil
	}
	if b.rnd.Intn(3) > 0 {
		return b.orders[len(b.orders)-1]
	}
	return b.orders[b.rnd.Intn(len(b.orders))]
}

func (b *buyer) step(ctx context.Context) {
	o := b.pick()
	n := b.rnd.Intn(100)
	switch {
	case o == nil || n < 22:
		b.place(ctx, "place", b.product(), Channels[b.rnd.Intn(len(Channels))])
	case n < 30:
		b.place(ctx, "top_up", topUpID, Channels[b.rnd.Intn(len(Channels)-1)]) // any channel but balance
	case n < 36:
		b.place(ctx, "spend", []int{coffeeID, membershipID, mugID}[b.rnd.Intn(3)], contract.ChannelBalance)
	case n < 46:
		b.repay(ctx, o)
	case n < 68:
		b.pay(ctx, o)
	case n < 76:
		b.notifyAgain(ctx, o)
	case n < 82:
		b.cancel(ctx, o)
	case n < 86:
		// Let the payment window run: nothing but time passes.
		b.r.count("wait")
		time.Sleep(time.Duration(200+b.rnd.Intn(800)) * time.Millisecond)
	default:
		b.refund(ctx, o)
	}
}

func (b *buyer) product() int {
	// Mostly goods and membership; the 1-cent mug runs out; samples are free.
	return []int{coffeeID, coffeeID, dripperID, mugID, mugID, membershipID, membershipID, sampleID, topUpID}[b.rnd.Intn(9)]
}

func (b *buyer) place(ctx context.Context, action string, product int, channel string) {
	b.r.count(action)
	qty := 1 + b.rnd.Intn(2)
	st, body := b.r.call(ctx, "POST", b.r.cfg.APIURL+"/api/v1/orders", b.token, map[string]any{
		"items":       []map[string]any{{"product_id": product, "quantity": qty}},
		"pay_channel": channel,
		"address":     map[string]any{"name": "Li Lei", "phone": "13800000000", "detail": "1 Nanjing Rd, Shanghai"},
	})
	if st != http.StatusCreated {
		return // refused (short wallet, out of stock, …): nothing to remember
	}
	var created struct {
		OrderNo string `json:"order_no"`
		Amount  int64  `json:"amount"`
	}
	if json.Unmarshal(body, &created) != nil || created.OrderNo == "" {
		b.r.serverError(fmt.Sprintf("place: unreadable answer %s", body))
		return
	}
	o := &order{no: created.OrderNo, amount: created.Amount, tradeNos: []string{created.OrderNo}}
	b.orders = append(b.orders, o)
	if b.rnd.Intn(3) > 0 {
		b.pay(ctx, o) // most buyers pay right away
	}
}

// repay switches the order to another channel, opening a new attempt.
func (b *buyer) repay(ctx context.Context, o *order) {
	b.r.count("repay")
	ch := Channels[b.rnd.Intn(len(Channels))]
	st, _ := b.r.call(ctx, "POST", b.r.cfg.APIURL+"/api/v1/orders/"+o.no+"/pay", b.token, map[string]string{"pay_channel": ch})
	if st != http.StatusOK {
		return
	}
	st, body := b.r.call(ctx, "GET", b.r.cfg.APIURL+"/api/v1/orders/"+o.no, b.token, nil)
	if st != http.StatusOK {
		return
	}
	var view struct {
		Payment struct {
			OutTradeNo string `json:"out_trade_no"`
		} `json:"payment"`
	}
	if json.Unmarshal(body, &view) == nil && view.Payment.OutTradeNo != "" {
		for _, t := range o.tradeNos {
			if t == view.Payment.OutTradeNo {
				return
			}
		}
		o.tradeNos = append(o.tradeNos, view.Payment.OutTradeNo)
	}
}

// pay pays attempt k in the sandbox: the newest one usually, an older one
// (closed by a re-pay, a cancel or the timeout) sometimes.
func (b *buyer) pay(ctx context.Context, o *order) {
	t := o.tradeNos[len(o.tradeNos)-1]
	action := "pay"
	if len(o.tradeNos) > 1 && b.rnd.Intn(3) == 0 {
		t = o.tradeNos[b.rnd.Intn(len(o.tradeNos)-1)]
		action = "pay_old_attempt"
	}
	mode := ""
	switch b.rnd.Intn(10) {
	case 0:
		mode = "?mode=silent" // the notify is lost: found by querying
	case 1:
		mode = "?mode=fail"
	}
	b.r.count(action)
	b.r.call(ctx, "POST", b.r.cfg.SandboxURL+"/sandbox/orders/"+t+"/pay"+mode, "", nil)
}

// notifyAgain re-sends a payment notify: paying a paid attempt again
// re-sends it at every provider; WeChat v3 also has its own endpoint.
func (b *buyer) notifyAgain(ctx context.Context, o *order) {
	b.r.count("duplicate_notify")
	t := o.tradeNos[b.rnd.Intn(len(o.tradeNos))]
	if b.rnd.Intn(2) == 0 {
		b.r.call(ctx, "POST", b.r.cfg.SandboxURL+"/sandbox/orders/"+t+"/notify", "", nil)
		return
	}
	b.r.call(ctx, "POST", b.r.cfg.SandboxURL+"/sandbox/orders/"+t+"/pay", "", nil)
}

func (b *buyer) cancel(ctx context.Context, o *order) {
	b.r.count("cancel")
	b.r.call(ctx, "POST", b.r.cfg.APIURL+"/api/v1/orders/"+o.no+"/cancel", b.token, nil)
}

// refund asks the operator for a partial or full refund, sometimes twice
// with the same refund number. Sometimes the provider is told first to fail
// this refund (the sandbox's refund-outcome for its refund number: WeChat
// Pay v3 settles it ABNORMAL or CLOSED), so refunds of one order fail while
// others are pending. The failure is bound to the refund's number: set for
// the order's next refund, it would fail the order's own automatic refund
// instead when the operator's is refused (an order not fulfilled yet) or
// comes second, and that refund is retried only an hour later.
func (b *buyer) refund(ctx context.Context, o *order) {
	body := map[string]any{"reason": "model"}
	action := "refund_full"
	if o.amount > 1 && b.rnd.Intn(2) == 0 {
		body["amount"] = 1 + b.rnd.Int63n(o.amount-1)
		action = "refund_partial"
	}
	fails := b.rnd.Intn(4) == 0
	status := []string{"ABNORMAL", "CLOSED"}[b.rnd.Intn(2)]
	refundNo := fmt.Sprintf("M%s%d", o.no, b.rnd.Intn(2))
	if b.rnd.Intn(3) != 0 {
		refundNo = fmt.Sprintf("F%s%08d", o.no, b.rnd.Intn(100_000_000)) // a new number
	}
	body["refund_no"] = refundNo
	if fails {
		b.r.count("refund_fails")
		for _, t := range o.tradeNos {
			b.r.call(ctx, "POST", b.r.cfg.SandboxURL+"/sandbox/orders/"+t+"/refund-outcome?status="+status+"&out_refund_no="+refundNo, "", nil)
		}
	}
	b.r.count(action)
	b.r.call(ctx, "POST", b.r.cfg.APIURL+"/api/v1/admin/orders/"+o.no+"/refund", b.r.admin, body)
}
