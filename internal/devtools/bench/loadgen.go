package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Limits that keep every run bounded.
const (
	MaxConcurrency = 2000
	MaxRate        = 5000
	MaxDuration    = 30 * time.Minute
	MaxOrders      = 1_000_000
)

// ChannelWeight is one pay channel of the mix and its relative weight.
type ChannelWeight struct {
	Channel string
	Weight  int
}

// ParseChannelMix reads "wechat_jsapi=3,wechat_native=1" (a bare name
// weighs 1).
func ParseChannelMix(s string) ([]ChannelWeight, error) {
	var out []ChannelWeight
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, w, hasW := strings.Cut(part, "=")
		cw := ChannelWeight{Channel: strings.TrimSpace(name), Weight: 1}
		if hasW {
			n, err := strconv.Atoi(strings.TrimSpace(w))
			if err != nil || n < 0 {
				return nil, fmt.Errorf("channel mix %q: weight %q is not a non-negative integer", s, w)
			}
			cw.Weight = n
		}
		if cw.Channel == "" {
			return nil, fmt.Errorf("channel mix %q: empty channel name", s)
		}
		out = append(out, cw)
	}
	total := 0
	for _, c := range out {
		total += c.Weight
	}
	if total == 0 {
		return nil, fmt.Errorf("channel mix %q: no channel with a positive weight", s)
	}
	return out, nil
}

// Config is one load generator run.
type Config struct {
	APIURL     string // e.g. http://127.0.0.1:18080 (loopback only)
	SandboxURL string // e.g. http://127.0.0.1:18090 (loopback only)

	// Concurrency is the number of buyers placing orders back to back
	// (closed loop). With Rate it bounds the orders in flight instead.
	Concurrency int
	// Rate, when positive, starts orders at this many per second (open
	// loop); an order that would exceed Concurrency in flight is skipped
	// and counted as an error.
	Rate float64
	// Duration bounds the run (warm-up included); Orders bounds the number
	// of orders started. At least one must be set; the first reached stops.
	Duration time.Duration
	Orders   int
	// Warmup is excluded from throughput and latencies (its orders still
	// count for the stock check).
	Warmup time.Duration

	Users    int             // distinct buyers (logged in before the run); default Concurrency
	Channels []ChannelWeight // pay channel mix; default wechat_jsapi and wechat_native, 1:1
	Products []uint          // products of ordinary orders, picked uniformly; default 1, 2
	Quantity int64           // per order line; default 1

	// HotSKU, when non-zero, is the flash-sale product: HotRatio of the
	// orders (default 0.9) buy it, the rest buy Products.
	HotSKU   uint
	HotRatio float64
	// OnePerBuyer gives every order a buyer of its own, in turn: a flash
	// sale's crowd, where each buyer tries once. It needs Orders, and logs
	// in that many users (Users is raised to Orders).
	OnePerBuyer bool
	// StockProbe, when set with a HotSKU, reads the hot SKU's stock (e.g.
	// straight from the database) every ProbeEvery (default 10ms) during
	// the run: the moment it first reads 0 is when the sale sold out.
	StockProbe func(context.Context) (int64, error)
	ProbeEvery time.Duration

	IdempotencyKeys bool          // send an Idempotency-Key with each order, like a real client
	PollInterval    time.Duration // pause after a failed GET order (the follow-up is a long poll); default 20ms
	PollMax         time.Duration // the pause grows by half each failure up to this; default 200ms
	OrderTimeout    time.Duration // an order not final this long after it was placed is an error; default 60s
	DrainTimeout    time.Duration // wait for orders in flight at the end; default OrderTimeout
	HTTPTimeout     time.Duration // per request; default 30s

	Progress      io.Writer     // progress lines while running; nil for none
	ProgressEvery time.Duration // default 2s
	RunID         string        // distinguishes buyers of different runs; default the start time
	Seed          uint64        // random choices; default the start time
}

func (c *Config) defaults() error {
	if c.Concurrency <= 0 {
		c.Concurrency = 1
	}
	if c.Concurrency > MaxConcurrency {
		return fmt.Errorf("concurrency %d is above the limit of %d", c.Concurrency, MaxConcurrency)
	}
	if c.Rate < 0 || c.Rate > MaxRate {
		return fmt.Errorf("rate %.1f/s is outside 0..%d", c.Rate, MaxRate)
	}
	if c.Duration <= 0 && c.Orders <= 0 {
		c.Duration = 30 * time.Second
	}
	if c.Duration > MaxDuration {
		return fmt.Errorf("duration %s is above the limit of %s", c.Duration, MaxDuration)
	}
	if c.Orders > MaxOrders {
		return fmt.Errorf("order count %d is above the limit of %d", c.Orders, MaxOrders)
	}
	if c.Orders < 0 || c.Warmup < 0 {
		return errors.New("orders and warmup must not be negative")
	}
	if c.Duration > 0 && c.Warmup >= c.Duration {
		return fmt.Errorf("warm-up %s leaves nothing of the %s run", c.Warmup, c.Duration)
	}
	if c.Users <= 0 {
		c.Users = c.Concurrency
	}
	if c.OnePerBuyer {
		if c.Orders <= 0 {
			return errors.New("one order per buyer needs an order count")
		}
		c.Users = max(c.Users, c.Orders)
	}
	if c.Users > 10_000 {
		return fmt.Errorf("users %d is above the limit of 10000", c.Users)
	}
	if len(c.Channels) == 0 {
		c.Channels = []ChannelWeight{{"wechat_jsapi", 1}, {"wechat_native", 1}}
	}
	if len(c.Products) == 0 {
		c.Products = []uint{1, 2}
	}
	if c.Quantity <= 0 {
		c.Quantity = 1
	}
	if c.HotSKU != 0 && (c.HotRatio <= 0 || c.HotRatio > 1) {
		c.HotRatio = 0.9
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 20 * time.Millisecond
	}
	if c.ProbeEvery <= 0 {
		c.ProbeEvery = 10 * time.Millisecond
	}
	if c.PollMax < c.PollInterval {
		c.PollMax = max(200*time.Millisecond, c.PollInterval)
	}
	if c.OrderTimeout <= 0 {
		c.OrderTimeout = 60 * time.Second
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = c.OrderTimeout
	}
	if c.HTTPTimeout <= 0 {
		c.HTTPTimeout = 30 * time.Second
	}
	if c.ProgressEvery <= 0 {
		c.ProgressEvery = 2 * time.Second
	}
	now := time.Now()
	if c.RunID == "" {
		c.RunID = now.Format("20060102T150405.000")
	}
	if c.Seed == 0 {
		c.Seed = uint64(now.UnixNano())
	}
	for _, u := range []string{c.APIURL, c.SandboxURL} {
		if err := CheckLoopback(u); err != nil {
			return err
		}
	}
	return nil
}

// CheckLoopback refuses any URL whose host is not a loopback address (or
// "localhost"): the load generator only ever targets this machine.
func CheckLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("%q is not an http(s) URL", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%s: the load generator only targets loopback addresses (127.0.0.0/8, ::1, localhost)", raw)
}

// Result is what a run measured.
type Result struct {
	Config         ConfigSummary  `json:"config"`
	Window         float64        `json:"window_s"`       // measured seconds (after warm-up)
	Started        int            `json:"started"`        // orders started, warm-up included
	Measured       int            `json:"measured"`       // orders started after warm-up
	Completed      int            `json:"completed"`      // orders seen "completed" within the window
	Throughput     float64        `json:"throughput"`     // Completed / Window
	Outcomes       map[string]int `json:"outcomes"`       // final state of every order, warm-up included
	Errors         map[string]int `json:"errors"`         // failures by kind
	ErrorCount     int            `json:"error_count"`    //
	Login          Latency        `json:"login"`          // POST /auth/wechat/login
	PlaceOrder     Latency        `json:"place_order"`    // POST /orders answered 201 (Update-with-Start through prepay)
	PlaceRefused   Latency        `json:"place_refused"`  // POST /orders answered 409 out_of_stock (no workflow)
	PayCall        Latency        `json:"pay_call"`       // POST {sandbox}/sandbox/orders/{no}/pay
	NotifyHandler  Latency        `json:"notify_handler"` // the API's answer to the notify, timed by the sandbox
	PayToCompleted Latency        `json:"pay_to_completed"`
	EndToEnd       Latency        `json:"end_to_end"`        // place start → completed_at (server clock, same host)
	Observed       Latency        `json:"observed_e2e"`      // place start → the poll that saw the final state
	Polls          float64        `json:"polls_per_order"`   // GET order requests per order
	PerSecond      []int          `json:"completed_per_sec"` // completions in each second of the run
	Stock          []StockCheck   `json:"stock"`
	StockOK        bool           `json:"stock_ok"`
	// Retries are requests sent again as the API asks (POST /orders
	// answered 503 or 504, or lost in transit: same Idempotency-Key), by
	// what came back; not errors unless the order then failed.
	Retries map[string]int `json:"retries,omitempty"`
	// SampleOrders are a few completed orders of the window (their workflow
	// ids), for reading their histories (the per-order cost).
	SampleOrders []string `json:"sample_orders,omitempty"`
	// Placements are the window's accepted orders with their place-order
	// times, for splitting those along the orders' histories (open loop).
	Placements []Placement `json:"-"`
	// Sale is what happened to the hot SKU's orders (runs with a HotSKU).
	Sale *Sale `json:"sale,omitempty"`
}

// Sale is a flash sale's account: the orders for the hot SKU, how each
// ended, and how fast it sold out. Times run from the first arrival.
type Sale struct {
	Units        int64 `json:"units"`         // the hot SKU's stock before the run
	Orders       int   `json:"orders"`        // orders tried for it
	Accepted     int   `json:"accepted"`      // POST /orders answered 201: a unit reserved
	Refused      int   `json:"refused"`       // answered 409 out_of_stock: refused at placement
	Completed    int   `json:"completed"`     // paid and completed
	PaidRefunded int   `json:"paid_refunded"` // paid, then refunded for want of stock
	Failed       int   `json:"failed"`        // no final state (errors)
	// Retries counts POST /orders sent again after a 503 or 504.
	Retries int `json:"retries,omitempty"`
	// SoldOut is true once the stock probe read 0 or, without a probe,
	// once as many units were accepted as there were; SoldOutS is when:
	// the probe's first 0 ("stock read 0"), or else the answer to the
	// order that took the last unit, which can come much later than its
	// reservation when that order's placement was answered 504 and retried
	// ("last unit's answer"). SoldOutBy says which.
	SoldOut   bool    `json:"sold_out"`
	SoldOutS  float64 `json:"sold_out_s,omitempty"`
	SoldOutBy string  `json:"sold_out_by,omitempty"`
	// FirstRefusalS is when the first buyer was told it is sold out.
	FirstRefusalS float64 `json:"first_refusal_s,omitempty"`
	// SettledS is when the last order for the SKU reached its final state.
	SettledS float64 `json:"settled_s"`
	// Oversold: more units completed than there were, or stock below 0.
	Oversold bool `json:"oversold"`
	// Held is stock gone from the product that no completed order of the
	// run accounts for: units still reserved by orders whose buyers were
	// refused or gave up (released when those orders close unpaid).
	Held int64 `json:"held,omitempty"`
}

// How Sale.SoldOutS was measured.
const (
	SoldOutByProbe  = "stock read 0"
	SoldOutByAnswer = "last unit's answer"
)

// Line is the sale in one line (for the terminal and the report).
func (s *Sale) Line() string {
	sold := "not sold out"
	if s.SoldOut {
		sold = fmt.Sprintf("sold out in %.2f s (%s)", s.SoldOutS, s.SoldOutBy)
	}
	over := "no oversell"
	if s.Oversold {
		over = "OVERSOLD"
	}
	line := fmt.Sprintf("%d buyers for %d units: %d accepted, %d refused at placement (sold out), %d paid then refunded, %d completed; %s",
		s.Orders, s.Units, s.Accepted, s.Refused, s.PaidRefunded, s.Completed, sold)
	if s.Refused > 0 {
		line += fmt.Sprintf(" (first refusal at %.2f s)", s.FirstRefusalS)
	}
	line += fmt.Sprintf(", all settled in %.1f s; %s", s.SettledS, over)
	if s.Held > 0 {
		line += fmt.Sprintf("; %d units still held by orders no buyer paid (refused or gave up)", s.Held)
	}
	if s.Retries > 0 {
		line += fmt.Sprintf("; %d placements retried (503/504, same Idempotency-Key)", s.Retries)
	}
	if s.Failed > 0 {
		line += fmt.Sprintf("; %d orders failed", s.Failed)
	}
	return line
}

// ConfigSummary is the part of Config a report shows.
type ConfigSummary struct {
	Concurrency int     `json:"concurrency"`
	Rate        float64 `json:"rate,omitempty"`
	Duration    float64 `json:"duration_s"`
	Warmup      float64 `json:"warmup_s"`
	Orders      int     `json:"orders,omitempty"`
	Users       int     `json:"users"`
	Channels    string  `json:"channels"`
	Products    string  `json:"products"`
	HotSKU      uint    `json:"hot_sku,omitempty"`
	HotRatio    float64 `json:"hot_ratio,omitempty"`
	OnePerBuyer bool    `json:"one_per_buyer,omitempty"`
	PollMS      float64 `json:"poll_ms"`
	PollMaxMS   float64 `json:"poll_max_ms"`
}

// StockCheck compares a product's stock movement with the orders that
// completed: sold must equal the quantity completed, and stock never
// goes below zero.
type StockCheck struct {
	ProductID uint   `json:"product_id"`
	Before    int64  `json:"before"`
	After     int64  `json:"after"`
	Sold      int64  `json:"sold"`
	Completed int64  `json:"completed_qty"` // quantity of this run's completed orders
	OK        bool   `json:"ok"`
	Note      string `json:"note,omitempty"`
}

// Outcomes.
const (
	OutcomeCompleted       = "completed"
	OutcomeRejectedNoStock = "rejected: out_of_stock"
	OutcomeUnfulfilled     = "paid, then refunded: out_of_stock" // lost the race for the last units
	OutcomeFailed          = "failed"
)

type buyer struct {
	token string
	id    int64
}

// order is one order's trip through the flow.
type order struct {
	no       string
	product  uint
	qty      int64
	channel  string
	measured bool
	start    time.Time
	payStart time.Time
	placed   time.Time // when POST /orders was answered 201 or 409
	final    time.Time // when a poll saw the final state
	status   string
	done     time.Time // server completed_at
}

type runner struct {
	cfg      Config
	hc       *http.Client
	rnd      *rand.Rand
	rndMu    sync.Mutex
	buyers   []buyer
	inflight atomic.Int64
	started  atomic.Int64
	polls    atomic.Int64

	t0      time.Time
	warmEnd time.Time
	stopAt  time.Time
	window  time.Duration

	login, place, refused, pay, payDone, e2e, observed series
	errs, outcomes, retries                            counter

	mu        sync.Mutex
	orders    []*order
	perSecond []int
	soldOut   time.Time // when StockProbe first read 0 (zero: never)
}

// Run drives the order flow as cfg says and returns what it measured.
// ctx cancels the run early (the orders in flight are still drained).
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	tr := &http.Transport{
		Proxy:               nil, // loopback only: never through a proxy
		MaxIdleConns:        4*cfg.Concurrency + 32,
		MaxIdleConnsPerHost: 2*cfg.Concurrency + 16,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	r := &runner{
		cfg: cfg,
		hc:  &http.Client{Transport: tr, Timeout: cfg.HTTPTimeout},
		rnd: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
	}
	if err := r.health(ctx); err != nil {
		return nil, err
	}
	before, err := r.stock(ctx)
	if err != nil {
		return nil, fmt.Errorf("read stock before the run: %w", err)
	}
	if err := r.loginAll(ctx); err != nil {
		return nil, err
	}
	r.drive(ctx)
	res := r.result()
	r.notifyTimes(context.WithoutCancel(ctx))
	res.NotifyHandler = r.payDone.summary()
	after, err := r.stock(context.WithoutCancel(ctx))
	if err != nil {
		r.errs.inc("stock check: " + err.Error())
	} else {
		res.Stock, res.StockOK = r.stockCheck(before, after)
	}
	if r.cfg.HotSKU != 0 {
		res.Sale = r.sale(before[r.cfg.HotSKU], res.Stock)
		res.Sale.Retries = r.retries.total()
	}
	res.Errors, res.ErrorCount = r.errs.snapshot(), r.errs.total()
	if r.retries.total() > 0 {
		res.Retries = r.retries.snapshot()
	}
	return res, nil
}

// sale accounts for the hot SKU's orders (units: its stock before the run).
func (r *runner) sale(units int64, stock []StockCheck) *Sale {
	s := &Sale{Units: units}
	var accepted []time.Time
	var firstRefusal, settled time.Time
	r.mu.Lock()
	for _, o := range r.orders {
		if o.product != r.cfg.HotSKU {
			continue
		}
		s.Orders++
		switch {
		case o.status == OutcomeRejectedNoStock:
			s.Refused++
			if firstRefusal.IsZero() || o.placed.Before(firstRefusal) {
				firstRefusal = o.placed
			}
		case o.no != "":
			s.Accepted++
			accepted = append(accepted, o.placed)
		}
		switch o.status {
		case "completed":
			s.Completed++
		case OutcomeUnfulfilled:
			s.PaidRefunded++
		case OutcomeFailed:
			s.Failed++
		}
		end := o.final
		if end.IsZero() {
			end = o.placed
		}
		if end.After(settled) {
			settled = end
		}
	}
	r.mu.Unlock()
	since := func(t time.Time) float64 { return t.Sub(r.t0).Seconds() }
	slices.SortFunc(accepted, func(a, b time.Time) int { return a.Compare(b) })
	r.mu.Lock()
	soldOut := r.soldOut
	r.mu.Unlock()
	switch {
	case !soldOut.IsZero():
		s.SoldOut, s.SoldOutS, s.SoldOutBy = true, since(soldOut), SoldOutByProbe
	case units > 0 && int64(len(accepted)) >= units:
		s.SoldOut, s.SoldOutS, s.SoldOutBy = true, since(accepted[units-1]), SoldOutByAnswer
	}
	if !firstRefusal.IsZero() {
		s.FirstRefusalS = since(firstRefusal)
	}
	if !settled.IsZero() {
		s.SettledS = since(settled)
	}
	s.Oversold = int64(s.Completed)*r.cfg.Quantity > units
	for _, c := range stock {
		if c.ProductID != r.cfg.HotSKU {
			continue
		}
		if c.After < 0 {
			s.Oversold = true
		}
		s.Held = max(0, c.Sold-c.Completed)
	}
	return s
}

func (r *runner) health(ctx context.Context) error {
	for _, u := range []string{r.cfg.APIURL + "/healthz", r.cfg.SandboxURL + "/healthz"} {
		st, body, err := r.do(ctx, http.MethodGet, u, "", nil, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", u, err)
		}
		if st != http.StatusOK {
			return fmt.Errorf("%s answered %d: %s", u, st, body)
		}
	}
	return nil
}

func (r *runner) loginAll(ctx context.Context) error {
	r.buyers = make([]buyer, r.cfg.Users)
	errc := make(chan error, r.cfg.Users)
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range r.buyers {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			code := fmt.Sprintf("loadgen-%s-%d", r.cfg.RunID, i)
			t := time.Now()
			st, body, err := r.do(ctx, http.MethodPost, r.cfg.APIURL+"/api/v1/auth/wechat/login", "", map[string]string{"code": code}, nil)
			if err != nil || st != http.StatusOK {
				errc <- fmt.Errorf("login %s: %d %s %v", code, st, body, err)
				return
			}
			r.login.add(time.Since(t))
			var m struct {
				Token string `json:"token"`
				User  struct {
					ID int64 `json:"id"`
				} `json:"user"`
			}
			if err := json.Unmarshal(body, &m); err != nil || m.Token == "" {
				errc <- fmt.Errorf("login %s: unexpected answer %s", code, body)
				return
			}
			r.buyers[i] = buyer{token: m.Token, id: m.User.ID}
		}()
	}
	wg.Wait()
	close(errc)
	return <-errc // nil when every login worked
}

// drive starts orders until the duration or the order count is reached,
// then waits for the orders in flight.
func (r *runner) drive(ctx context.Context) {
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	r.t0 = time.Now()
	r.warmEnd = r.t0.Add(r.cfg.Warmup)
	if r.cfg.Duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithDeadline(runCtx, r.t0.Add(r.cfg.Duration))
		defer cancel()
	}
	progressDone := make(chan struct{})
	go r.progress(runCtx, progressDone)
	probeCtx, stopProbe := context.WithCancel(context.WithoutCancel(ctx))
	probeDone := make(chan struct{})
	go r.probeStock(probeCtx, probeDone)

	// Orders run on their own context: stopping the run stops new orders,
	// the ones in flight finish (bounded by OrderTimeout and DrainTimeout).
	drainCtx, drainCancel := context.WithCancel(context.WithoutCancel(ctx))
	defer drainCancel()
	var wg sync.WaitGroup
	if r.cfg.Rate > 0 {
		r.openLoop(runCtx, drainCtx, stop, &wg)
	} else {
		for range r.cfg.Concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for runCtx.Err() == nil {
					n, ok := r.claim(stop)
					if !ok {
						return
					}
					r.runOrder(drainCtx, time.Now(), n)
				}
			}()
		}
		<-runCtx.Done()
	}
	r.stopAt = time.Now()
	waited := make(chan struct{})
	go func() { wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(r.cfg.DrainTimeout):
		drainCancel()
		<-waited
	}
	if r.cfg.Duration <= 0 {
		// A run bounded by its order count lasts until its last order ends.
		r.stopAt = time.Now()
	}
	r.window = r.stopAt.Sub(r.warmEnd)
	stopProbe()
	<-probeDone
	<-progressDone
}

// probeStock reads the hot SKU's stock with cfg.StockProbe until it reads
// 0 (or below) or ctx ends, and notes when.
func (r *runner) probeStock(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	if r.cfg.StockProbe == nil || r.cfg.HotSKU == 0 {
		return
	}
	t := time.NewTicker(r.cfg.ProbeEvery)
	defer t.Stop()
	for {
		if n, err := r.cfg.StockProbe(ctx); err == nil && n <= 0 {
			r.mu.Lock()
			r.soldOut = time.Now()
			r.mu.Unlock()
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// claim reserves the next order of a run and returns its number (from 1);
// false once a bounded run has started all its orders.
func (r *runner) claim(stop context.CancelFunc) (int64, bool) {
	n := r.started.Add(1)
	if r.cfg.Orders > 0 && n > int64(r.cfg.Orders) {
		r.started.Add(-1)
		stop()
		return 0, false
	}
	if r.cfg.Orders > 0 && n == int64(r.cfg.Orders) {
		defer stop()
	}
	return n, true
}

// openLoop starts orders on a fixed schedule (arrivalAt), whatever the
// orders in flight do: a slow answer does not hold back the next buyer, so
// the latencies are those of a steady arrival rate. Each order's latency
// counts from its scheduled arrival, not from when its goroutine ran, so a
// late start (a busy machine) shows in the figures instead of hiding
// (no coordinated omission).
func (r *runner) openLoop(runCtx, drainCtx context.Context, stop context.CancelFunc, wg *sync.WaitGroup) {
	t0 := time.Now()
	for i := int64(0); ; i++ {
		at := arrivalAt(t0, r.cfg.Rate, i)
		if d := time.Until(at); d > 0 {
			select {
			case <-runCtx.Done():
				return
			case <-time.After(d):
			}
		}
		if runCtx.Err() != nil {
			return
		}
		if r.inflight.Load() >= int64(r.cfg.Concurrency) {
			r.errs.inc("skipped: in-flight limit reached")
			continue
		}
		n, ok := r.claim(stop)
		if !ok {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.runOrder(drainCtx, at, n)
		}()
	}
}

// pick draws order n's buyer (its own with OnePerBuyer), product and
// pay channel.
func (r *runner) pick(order int64) (buyer, uint, string) {
	r.rndMu.Lock()
	defer r.rndMu.Unlock()
	b := r.buyers[r.rnd.IntN(len(r.buyers))]
	if r.cfg.OnePerBuyer {
		b = r.buyers[(order-1)%int64(len(r.buyers))]
	}
	product := r.cfg.Products[r.rnd.IntN(len(r.cfg.Products))]
	if r.cfg.HotSKU != 0 && r.rnd.Float64() < r.cfg.HotRatio {
		product = r.cfg.HotSKU
	}
	total := 0
	for _, c := range r.cfg.Channels {
		total += c.Weight
	}
	n := r.rnd.IntN(total)
	channel := r.cfg.Channels[0].Channel
	for _, c := range r.cfg.Channels {
		if n < c.Weight {
			channel = c.Channel
			break
		}
		n -= c.Weight
	}
	return b, product, channel
}

// finalStatuses end polling.
var finalStatuses = map[string]bool{
	"completed": true, "paid_unfulfilled": true, "refunded": true, "partially_refunded": true,
	"closed": true, "cancelled": true, "rejected": true,
}

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func errorCode(body []byte) string {
	var e apiError
	if json.Unmarshal(body, &e) == nil && e.Error.Code != "" {
		return e.Error.Code
	}
	var w struct { // the sandbox answers WeChat-style {"code","message"}
		Code string `json:"code"`
	}
	if json.Unmarshal(body, &w) == nil && w.Code != "" {
		return w.Code
	}
	return ""
}

// runOrder takes one order through the flow: place, pay, poll until final.
// start is when the buyer arrived (its scheduled time in an open loop); n
// is the order's number in the run (from 1).
func (r *runner) runOrder(ctx context.Context, start time.Time, n int64) {
	r.inflight.Add(1)
	defer r.inflight.Add(-1)
	b, product, channel := r.pick(n)
	o := &order{product: product, qty: r.cfg.Quantity, channel: channel, start: start}
	o.measured = !o.start.Before(r.warmEnd)
	r.mu.Lock()
	r.orders = append(r.orders, o)
	r.mu.Unlock()
	fail := func(kind string) {
		o.status = OutcomeFailed
		r.outcomes.inc(OutcomeFailed)
		r.errs.inc(kind)
	}

	body := map[string]any{
		"items":       []map[string]any{{"product_id": product, "quantity": o.qty}},
		"pay_channel": channel,
		"address":     map[string]string{"name": "Load Gen", "phone": "13800000000", "detail": "1 Loopback Rd"},
	}
	var hdr map[string]string
	if r.cfg.IdempotencyKeys {
		hdr = map[string]string{"Idempotency-Key": fmt.Sprintf("lg-%s-%d", r.cfg.RunID, n) + "-" + strconv.FormatInt(o.start.UnixNano(), 36)}
	}
	octx, cancel := context.WithTimeout(ctx, r.cfg.OrderTimeout)
	defer cancel()
	st, raw, err := r.placeOrder(octx, b.token, body, hdr)
	placed := time.Since(o.start)
	o.placed = time.Now()
	if err != nil {
		fail("place order: " + transportKind(err))
		return
	}
	if st == http.StatusConflict && errorCode(raw) == "out_of_stock" {
		if o.measured {
			r.refused.add(placed)
		}
		o.status = OutcomeRejectedNoStock
		r.outcomes.inc(OutcomeRejectedNoStock)
		return
	}
	if o.measured {
		r.place.add(placed)
	}
	if st != http.StatusCreated {
		fail(fmt.Sprintf("place order: HTTP %d %s", st, errorCode(raw)))
		return
	}
	var created struct {
		OrderNo string         `json:"order_no"`
		Status  string         `json:"status"`
		Pay     map[string]any `json:"pay"`
	}
	if err := json.Unmarshal(raw, &created); err != nil || created.OrderNo == "" {
		fail("place order: unexpected answer")
		return
	}
	o.no = created.OrderNo

	if paid, _ := created.Pay["paid"].(bool); !paid { // wallet and free orders settle at once
		o.payStart = time.Now()
		st, raw, err := r.do(octx, http.MethodPost, r.cfg.SandboxURL+"/sandbox/orders/"+o.no+"/pay", "", nil, nil)
		if err != nil {
			fail("sandbox pay: " + transportKind(err))
			return
		}
		if o.measured {
			r.pay.add(time.Since(o.payStart))
		}
		if st != http.StatusOK {
			fail(fmt.Sprintf("sandbox pay: HTTP %d %s", st, errorCode(raw)))
			return
		}
	}
	r.poll(octx, b, o)
}

// placeOrder sends POST /orders the way the API asks a client to: an
// answer of 503 (Temporal unreachable for a moment) or 504 (the order is
// taking longer than the API waits) is sent again with the same body and
// Idempotency-Key, after a growing pause, until the order's time is up;
// so is a request that failed in transit. Retries are counted apart from
// errors; the latency runs from the first attempt to the final answer.
func (r *runner) placeOrder(ctx context.Context, token string, body any, hdr map[string]string) (int, []byte, error) {
	pause := 100 * time.Millisecond
	for {
		st, raw, err := r.do(ctx, http.MethodPost, r.cfg.APIURL+"/api/v1/orders", token, body, hdr)
		retry := err != nil || st == http.StatusServiceUnavailable || st == http.StatusGatewayTimeout
		if !retry || hdr == nil || ctx.Err() != nil {
			return st, raw, err
		}
		kind := fmt.Sprintf("HTTP %d", st)
		if err != nil {
			kind = transportKind(err)
		}
		r.retries.inc("place order: " + kind)
		select {
		case <-ctx.Done():
			return st, raw, err
		case <-time.After(pause):
		}
		pause = min(2*pause, 2*time.Second)
	}
}

// poll follows the order like a client after paying: a long poll
// (changed_from, the status it last saw) answered when the order moves,
// asked again until the order is final; after a failed answer it pauses
// at growing intervals. The end-to-end latency comes from the order's
// completed_at, so the poll does not blur it.
func (r *runner) poll(ctx context.Context, b buyer, o *order) {
	last := "awaiting_payment"
	wait := r.cfg.PollInterval
	for {
		r.polls.Add(1)
		asked := time.Now()
		st, raw, err := r.do(ctx, http.MethodGet, r.cfg.APIURL+"/api/v1/orders/"+o.no+"?changed_from="+last, b.token, nil, nil)
		switch {
		case ctx.Err() != nil:
			o.status = OutcomeFailed
			r.outcomes.inc(OutcomeFailed)
			r.errs.inc("timeout: order still " + last)
			return
		case err != nil:
			r.errs.inc("poll order: " + transportKind(err))
		case st != http.StatusOK:
			r.errs.inc(fmt.Sprintf("poll order: HTTP %d %s", st, errorCode(raw)))
		default:
			var v struct {
				Status      string     `json:"status"`
				Reason      string     `json:"status_reason"`
				CompletedAt *time.Time `json:"completed_at"`
			}
			if err := json.Unmarshal(raw, &v); err != nil || v.Status == "" {
				r.errs.inc("poll order: unexpected answer")
				break
			}
			if finalStatuses[v.Status] {
				r.finish(o, v.Status, v.Reason, v.CompletedAt)
				return
			}
			// Moved but not final yet, or the wait ran out unmoved: ask
			// again at once (a long poll costs the API nothing while it
			// waits), unless an unmoved answer came too soon to have waited.
			if v.Status != last || time.Since(asked) >= time.Second {
				last = v.Status
				continue
			}
			r.errs.inc("poll order: answered unmoved without waiting")
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(wait*3/2, r.cfg.PollMax)
	}
}

func (r *runner) finish(o *order, status, reason string, completedAt *time.Time) {
	now := time.Now()
	o.final = now
	o.status = status
	switch {
	case status == "completed":
		r.outcomes.inc(OutcomeCompleted)
		if completedAt != nil {
			o.done = *completedAt
		} else {
			o.done = now
		}
		sec := int(now.Sub(r.t0) / time.Second)
		r.mu.Lock()
		for len(r.perSecond) <= sec {
			r.perSecond = append(r.perSecond, 0)
		}
		r.perSecond[sec]++
		r.mu.Unlock()
		if o.measured {
			r.e2e.add(o.done.Sub(o.start))
			r.observed.add(now.Sub(o.start))
		}
	case (status == "paid_unfulfilled" || status == "refunded") && strings.HasPrefix(reason, "out_of_stock"):
		r.outcomes.inc(OutcomeUnfulfilled)
	default:
		r.outcomes.inc(status + ": " + reason)
		r.errs.inc("unexpected final state: " + status + " " + reason)
	}
}

// notifyTimes reads the sandbox's record of each measured order's payment
// notify: how long the API took to answer it, and whether it had to be
// re-sent. Asked after the run, so it does not load the system under test.
func (r *runner) notifyTimes(ctx context.Context) {
	r.mu.Lock()
	var todo []*order
	for _, o := range r.orders {
		if o.measured && o.no != "" && !o.payStart.IsZero() && o.status == "completed" {
			todo = append(todo, o)
		}
	}
	r.mu.Unlock()
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, o := range todo {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			st, raw, err := r.do(ctx, http.MethodGet, r.cfg.SandboxURL+"/sandbox/orders/"+o.no, "", nil, nil)
			if err != nil || st != http.StatusOK {
				return // not a WeChat v3 order (other providers keep their own records)
			}
			var v struct {
				Notify struct {
					Attempts int `json:"attempts"`
					History  []struct {
						Success    bool  `json:"success"`
						DurationNS int64 `json:"duration_ns"`
					} `json:"history"`
				} `json:"notify"`
			}
			if json.Unmarshal(raw, &v) != nil {
				return
			}
			if v.Notify.Attempts > 1 {
				r.errs.inc("notify: re-sent (the API did not accept the first delivery)")
			}
			for _, h := range v.Notify.History {
				if h.Success && h.DurationNS > 0 {
					r.payDone.add(time.Duration(h.DurationNS))
					break
				}
			}
		}()
	}
	wg.Wait()
}

func transportKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case strings.Contains(err.Error(), "connection refused"):
		return "connection refused"
	case strings.Contains(err.Error(), "connection reset"):
		return "connection reset"
	}
	return "transport error"
}

// do sends one request and reads the whole answer.
func (r *runner) do(ctx context.Context, method, url, token string, body any, hdr map[string]string) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := r.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, raw, err
}

func (r *runner) stock(ctx context.Context) (map[uint]int64, error) {
	st, raw, err := r.do(ctx, http.MethodGet, r.cfg.APIURL+"/api/v1/products?limit=100", "", nil, nil)
	if err != nil {
		return nil, err
	}
	if st != http.StatusOK {
		return nil, fmt.Errorf("GET /api/v1/products: HTTP %d", st)
	}
	var v struct {
		Products []struct {
			ID    uint  `json:"id"`
			Stock int64 `json:"stock"`
		} `json:"products"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	out := make(map[uint]int64, len(v.Products))
	for _, p := range v.Products {
		out[p.ID] = p.Stock
	}
	return out, nil
}

func (r *runner) stockCheck(before, after map[uint]int64) ([]StockCheck, bool) {
	ids := map[uint]bool{r.cfg.HotSKU: r.cfg.HotSKU != 0}
	for _, p := range r.cfg.Products {
		ids[p] = true
	}
	completed := map[uint]int64{}
	unknown := 0
	r.mu.Lock()
	for _, o := range r.orders {
		switch o.status {
		case "completed":
			completed[o.product] += o.qty
		case OutcomeFailed:
			if o.no != "" {
				unknown++ // placed but its end is unknown: it may still take stock
			}
		}
	}
	r.mu.Unlock()
	var out []StockCheck
	allOK := true
	for id, want := range ids {
		if !want {
			continue
		}
		c := StockCheck{ProductID: id, Before: before[id], After: after[id], Completed: completed[id]}
		c.Sold = c.Before - c.After
		c.OK = c.After >= 0 && c.Sold == c.Completed
		switch {
		case c.After < 0:
			c.Note = "stock below zero"
		case c.Sold > c.Completed && unknown > 0:
			c.Note = fmt.Sprintf("%d orders of unknown outcome", unknown)
		case c.Sold != c.Completed:
			c.Note = "stock moved by other than this run's completed orders"
		}
		allOK = allOK && c.OK
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ProductID < out[j].ProductID })
	return out, allOK
}

func (r *runner) progress(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	if r.cfg.Progress == nil {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(r.cfg.ProgressEvery)
	defer t.Stop()
	lastDone, lastPlace := 0, 0
	lastAt := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			done := r.outcomes.snapshot()[OutcomeCompleted]
			places := r.place.tail(lastPlace)
			lastPlace += len(places)
			rate := float64(done-lastDone) / now.Sub(lastAt).Seconds()
			lastDone, lastAt = done, now
			phase := ""
			if now.Before(r.warmEnd) {
				phase = " (warm-up)"
			}
			fmt.Fprintf(r.cfg.Progress, "[%6.1fs] started %6d  completed %6d  in flight %4d  errors %4d  %7.1f orders/s  place p99 %6.1f ms%s\n",
				now.Sub(r.t0).Seconds(), r.started.Load(), done, r.inflight.Load(), r.errs.total(), rate,
				summarize(places).P99, phase)
		}
	}
}

func (r *runner) result() *Result {
	cfg := r.cfg
	chans := make([]string, len(cfg.Channels))
	for i, c := range cfg.Channels {
		chans[i] = fmt.Sprintf("%s=%d", c.Channel, c.Weight)
	}
	prods := make([]string, len(cfg.Products))
	for i, p := range cfg.Products {
		prods[i] = strconv.FormatUint(uint64(p), 10)
	}
	res := &Result{
		Config: ConfigSummary{
			Concurrency: cfg.Concurrency, Rate: cfg.Rate, Duration: cfg.Duration.Seconds(), Warmup: cfg.Warmup.Seconds(),
			Orders: cfg.Orders, Users: cfg.Users, Channels: strings.Join(chans, ","), Products: strings.Join(prods, ","),
			HotSKU: cfg.HotSKU, OnePerBuyer: cfg.OnePerBuyer, PollMS: float64(cfg.PollInterval) / float64(time.Millisecond),
			PollMaxMS: float64(cfg.PollMax) / float64(time.Millisecond),
		},
		Window:         r.window.Seconds(),
		Started:        int(r.started.Load()),
		Outcomes:       r.outcomes.snapshot(),
		Login:          r.login.summary(),
		PlaceOrder:     r.place.summary(),
		PlaceRefused:   r.refused.summary(),
		PayCall:        r.pay.summary(),
		EndToEnd:       r.e2e.summary(),
		Observed:       r.observed.summary(),
		PayToCompleted: Latency{},
	}
	if cfg.HotSKU != 0 {
		res.Config.HotRatio = cfg.HotRatio
	}
	var payToDone []time.Duration
	r.mu.Lock()
	for _, o := range r.orders {
		if o.status == "completed" && !o.final.Before(r.warmEnd) && !o.final.After(r.stopAt) {
			res.Completed++
		}
		if !o.measured {
			continue
		}
		res.Measured++
		if o.status == "completed" && len(res.SampleOrders) < sampleOrders {
			res.SampleOrders = append(res.SampleOrders, o.no)
		}
		if o.no != "" {
			res.Placements = append(res.Placements, Placement{OrderNo: o.no, Start: o.start, Placed: o.placed})
		}
		if o.status == "completed" && !o.payStart.IsZero() {
			payToDone = append(payToDone, o.done.Sub(o.payStart))
		}
	}
	res.PerSecond = append([]int(nil), r.perSecond...)
	r.mu.Unlock()
	res.PayToCompleted = summarize(payToDone)
	if res.Window > 0 {
		res.Throughput = float64(res.Completed) / res.Window
	}
	if res.Started > 0 {
		res.Polls = float64(r.polls.Load()) / float64(res.Started)
	}
	return res
}

// Text renders the result for a terminal.
func (res *Result) Text() string {
	var b strings.Builder
	c := res.Config
	mode := fmt.Sprintf("%d buyers back to back (closed loop)", c.Concurrency)
	if c.Rate > 0 {
		mode = fmt.Sprintf("%.1f orders/s (open loop, at most %d in flight)", c.Rate, c.Concurrency)
	}
	bound := fmt.Sprintf("%.0fs (%.0fs warm-up)", c.Duration, c.Warmup)
	if c.Duration == 0 {
		bound = fmt.Sprintf("%d orders", c.Orders)
	} else if c.Orders > 0 {
		bound += fmt.Sprintf(", at most %d orders", c.Orders)
	}
	fmt.Fprintf(&b, "load: %s, %s, %d users, channels %s, products %s", mode, bound, c.Users, c.Channels, c.Products)
	if c.HotSKU != 0 {
		fmt.Fprintf(&b, ", hot SKU %d for %.0f%% of orders", c.HotSKU, c.HotRatio*100)
	}
	if c.OnePerBuyer {
		b.WriteString(", one order per buyer")
	}
	fmt.Fprintf(&b, "\norders: %d started (%d after warm-up); %d completed in the %.1fs window → %.1f orders/s\n",
		res.Started, res.Measured, res.Completed, res.Window, res.Throughput)
	b.WriteString("outcomes:")
	for _, k := range sortedKeys(res.Outcomes) {
		fmt.Fprintf(&b, " %s %d;", k, res.Outcomes[k])
	}
	b.WriteString("\n" + latencyHeader)
	b.WriteString(res.PlaceOrder.row("place order"))
	if res.PlaceRefused.N > 0 {
		b.WriteString(res.PlaceRefused.row("place order: sold out"))
	}
	b.WriteString(res.PayCall.row("sandbox pay call"))
	b.WriteString(res.NotifyHandler.row("notify handler (API)"))
	b.WriteString(res.PayToCompleted.row("pay → completed"))
	b.WriteString(res.EndToEnd.row("end to end"))
	b.WriteString(res.Observed.row("end to end (polled)"))
	b.WriteString(res.Login.row("login"))
	fmt.Fprintf(&b, "  %.1f order polls per order\n", res.Polls)
	for _, k := range sortedKeys(res.Retries) {
		fmt.Fprintf(&b, "retried (same Idempotency-Key): %d × %s\n", res.Retries[k], k)
	}
	if res.ErrorCount == 0 {
		b.WriteString("errors: none\n")
	} else {
		fmt.Fprintf(&b, "errors: %d\n", res.ErrorCount)
		for _, k := range sortedKeys(res.Errors) {
			fmt.Fprintf(&b, "  %6d  %s\n", res.Errors[k], k)
		}
	}
	for _, s := range res.Stock {
		verdict := "OK"
		if !s.OK {
			verdict = "MISMATCH " + s.Note
		}
		fmt.Fprintf(&b, "stock: product %d %d → %d, sold %d, completed %d: %s\n", s.ProductID, s.Before, s.After, s.Sold, s.Completed, verdict)
	}
	if res.Sale != nil {
		b.WriteString("flash sale: " + res.Sale.Line() + "\n")
	}
	return b.String()
}

// Finished counts the orders that reached a final state (any outcome but
// a failure), warm-up included.
func (res *Result) Finished() int {
	n := 0
	for k, v := range res.Outcomes {
		if k != OutcomeFailed {
			n += v
		}
	}
	return n
}
