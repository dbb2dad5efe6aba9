// Command loadgen drives the real order flow over HTTP — log in, place an
// order, pay it at the provider sandbox (which sends the signed notify),
// poll the order until it is final — and reports throughput, latencies,
// errors by kind and a final stock check. It only targets loopback
// addresses and always stops by itself (a duration or an order count).
//
// With `make run` running:
//
//	go run ./cmd/loadgen -c 16 -d 30s
//	go run ./cmd/loadgen -rate 50 -d 20s -channels wechat_jsapi=3,wechat_native=1
//	go run ./cmd/loadgen -c 32 -n 500 -hot-sku 3          # flash sale: 100 mugs
//
// It exits 1 when an order failed or the stock check does not add up.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/shopflow/orderpay/internal/devtools/bench"
)

func main() {
	code, err := run(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
	}
	os.Exit(code)
}

func run(args []string) (int, error) {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	var (
		cfg      bench.Config
		channels = fs.String("channels", "wechat_jsapi=1,wechat_native=1", "pay channel mix: name=weight,…")
		products = fs.String("products", "1,2", "product ids of ordinary orders")
		hotSKU   = fs.Uint("hot-sku", 0, "flash-sale product id (0: none); -hot-ratio of the orders buy it")
		jsonOut  = fs.String("json", "", "also write the result as JSON to this file")
		quiet    = fs.Bool("q", false, "no progress lines")
	)
	fs.StringVar(&cfg.APIURL, "api", envOr("LOADGEN_API", "http://127.0.0.1:8080"), "API base URL (loopback only)")
	fs.StringVar(&cfg.SandboxURL, "sandbox", envOr("LOADGEN_SANDBOX", "http://127.0.0.1:8090"), "pay sandbox base URL (loopback only)")
	fs.IntVar(&cfg.Concurrency, "c", 8, "concurrent buyers (closed loop), or the in-flight bound with -rate")
	fs.Float64Var(&cfg.Rate, "rate", 0, "orders started per second (open loop); 0 for closed loop")
	fs.DurationVar(&cfg.Duration, "d", 0, "run duration, warm-up included (default 30s when -n is not given)")
	fs.IntVar(&cfg.Orders, "n", 0, "stop after this many orders")
	fs.DurationVar(&cfg.Warmup, "warmup", 0, "excluded from throughput and latencies")
	fs.IntVar(&cfg.Users, "users", 0, "distinct buyers (default -c)")
	fs.Int64Var(&cfg.Quantity, "qty", 1, "quantity per order")
	fs.Float64Var(&cfg.HotRatio, "hot-ratio", 0.9, "share of orders buying the hot SKU")
	fs.BoolVar(&cfg.IdempotencyKeys, "idempotency-key", true, "send an Idempotency-Key with each order")
	fs.DurationVar(&cfg.PollInterval, "poll", 20*time.Millisecond, "first order poll interval after paying")
	fs.DurationVar(&cfg.PollMax, "poll-max", 200*time.Millisecond, "the poll interval grows by half each time up to this")
	fs.DurationVar(&cfg.OrderTimeout, "order-timeout", 60*time.Second, "an order not final by then is an error")
	fs.DurationVar(&cfg.ProgressEvery, "progress", 2*time.Second, "progress line interval")
	if err := fs.Parse(args); err != nil {
		return 2, nil
	}
	var err error
	if cfg.Channels, err = bench.ParseChannelMix(*channels); err != nil {
		return 2, err
	}
	for p := range strings.SplitSeq(*products, ",") {
		id, err := strconv.ParseUint(strings.TrimSpace(p), 10, 32)
		if err != nil || id == 0 {
			return 2, fmt.Errorf("-products %q: %q is not a product id", *products, p)
		}
		cfg.Products = append(cfg.Products, uint(id))
	}
	cfg.HotSKU = uint(*hotSKU)
	if !*quiet {
		cfg.Progress = os.Stderr
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := bench.Run(ctx, cfg)
	if err != nil {
		return 1, err
	}
	fmt.Print(res.Text())
	if *jsonOut != "" {
		raw, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(*jsonOut, append(raw, '\n'), 0o644); err != nil {
			return 1, err
		}
	}
	if res.ErrorCount > 0 || !res.StockOK {
		return 1, nil
	}
	return 0, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
