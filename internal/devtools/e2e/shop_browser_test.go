package e2e

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/api"
	"github.com/shopflow/orderpay/internal/contract"
)

// TestShopInBrowser drives the storefront (/shop/) in headless Chromium
// on a 390 × 844 phone viewport, against the whole system as make run
// starts it (sandbox, API, worker, dev server, PostgreSQL): a buyer buys
// with WeChat Native (QR code, "pay in the sandbox", success), pays from
// the wallet, and re-pays on another channel then cancels. Any console
// error or uncaught exception fails the test. Screenshots are saved under
// $ARTIFACTS_DIR (default .artifacts/browser at the repository root);
// SHOP_DOCS_SCREENSHOTS=1 also refreshes docs/img/shop-*.png.
func TestShopInBrowser(t *testing.T) {
	browser := chromium(t)
	s := startSystem(t, options{})
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(browserProfile(t)), chromedp.WindowSize(390, 844))...)
	t.Cleanup(cancel)

	t.Run("WeChatNative", func(t *testing.T) {
		b := shopBrowser(t, alloc, s)
		b.signIn("shop-native-buyer")
		b.run("the catalogue lists the products with prices and stock",
			shopShows(`#products li[data-product="1"]`, "¥68.00"),
			shopShows(`#products li[data-product="1"]`, "库存"))
		b.shot("catalogue", true)
		b.addToCart(coffeeID)
		b.run("the cart", chromedp.Click(`a[data-nav="cart"]`, chromedp.ByQuery), shopShows("#cart-total", "¥68.00"))
		b.shot("cart", false)
		b.run("to checkout", chromedp.Click("#to-checkout", chromedp.ByID))
		b.checkout(contract.ChannelWeChatNative, true)
		b.shot("checkout", true)
		orderNo := b.placeOrder()

		var natural int
		var countdown string
		b.run("the QR code, the amount and the countdown",
			chromedp.Poll(`(() => { const i = document.querySelector("#qr"); return i && i.complete && i.naturalWidth > 0 })()`, nil,
				chromedp.WithPollingTimeout(30*time.Second)),
			chromedp.Evaluate(`document.querySelector("#qr").naturalWidth`, &natural),
			shopShows("#order-amount", "¥68.00"),
			chromedp.Poll(`/\d\d:\d\d/.test(document.querySelector("#countdown").textContent)`, nil, chromedp.WithPollingTimeout(10*time.Second)),
			chromedp.Text("#countdown", &countdown, chromedp.ByID))
		assert.Greater(t, natural, 100, "the QR code image is rendered")
		assert.Regexp(t, regexp.MustCompile(`^(1:)?\d\d:\d\d$`), countdown, "a countdown to expire_at")
		b.shot("native-qr", true)
		view := s.order(b.token(), orderNo)
		assert.Equal(t, view["payment"].(map[string]any)["pay"].(map[string]any)["code_url"],
			shopDecodeQR(t, s, b.token(), orderNo), "the page's QR code holds the order's code_url")

		var shownAt float64 // when the page showed the order completed (ms since the epoch)
		b.run("pay in the sandbox: success shown",
			chromedp.Evaluate(shopWatchCompleted, nil),
			chromedp.Click("#sandbox-pay", chromedp.ByID),
			shopShows("#status-title", "支付成功，订单已完成"),
			chromedp.Evaluate(`window.shopCompletedShownAt`, &shownAt))
		b.shot("native-paid", true)
		view = s.order(b.token(), orderNo)
		assert.Equal(t, "completed", view["status"])
		if completedAt, err := time.Parse(time.RFC3339Nano, fmt.Sprint(view["completed_at"])); assert.NoError(t, err) {
			t.Logf("the page showed the order completed %v after its completed_at",
				time.UnixMilli(int64(shownAt)).Sub(completedAt).Round(time.Millisecond))
		}
		b.followedWithLongPoll(orderNo)

		b.run("my orders list it",
			chromedp.Click(`a[data-nav="orders"]`, chromedp.ByQuery),
			shopShows(`#order-list li[data-order="`+orderNo+`"]`, "已完成"))
		b.shot("orders", true)
	})

	t.Run("Wallet", func(t *testing.T) {
		// Top the wallet up with ¥100 (product 5, paid in the sandbox) first.
		token, _ := s.login("shop-wallet-buyer")
		s.payAndComplete(token, topUpID, 1, contract.ChannelWeChatNative)

		b := shopBrowser(t, alloc, s)
		b.signIn("shop-wallet-buyer")
		b.addToCart(coffeeID)
		b.run("to checkout", chromedp.Navigate(s.apiURL+api.StorefrontPath+"#/checkout"), chromedp.WaitVisible("#checkout-form", chromedp.ByID))
		b.checkout(contract.ChannelBalance, true)
		orderNo := b.placeOrder()
		b.run("the wallet pays at once", shopShows("#status-title", "支付成功，订单已完成"))
		b.shot("wallet-paid", false)
		assert.Equal(t, "completed", s.order(token, orderNo)["status"])

		// A free sample completes at once too, without a channel to choose.
		b.run("catalogue", chromedp.Click(`a[data-nav="catalog"]`, chromedp.ByQuery), chromedp.WaitVisible("#products li", chromedp.ByQuery))
		b.addToCart(sampleID)
		b.run("a free order",
			chromedp.Navigate(s.apiURL+api.StorefrontPath+"#/checkout"),
			shopShows("#channels", "免费订单"),
			chromedp.Click("#place-order", chromedp.ByID),
			chromedp.Poll(`location.hash.startsWith("#/order/")`, nil, chromedp.WithPollingTimeout(30*time.Second)),
			shopShows("#status-title", "支付成功，订单已完成"),
			shopShows("#order-channel", "免费"))

		me := s.api("GET", "/api/v1/me", token, nil).JSON(t)
		b.run("my account: balance, points, wallet entries",
			chromedp.Click(`a[data-nav="me"]`, chromedp.ByQuery),
			shopShows("#balance", "¥32.00"),
			shopShows("#points", strconv.Itoa(int(me["points"].(float64)))),
			shopShows("table", "-¥68.00"))
		b.shot("me", true)
	})

	t.Run("RepayThenCancel", func(t *testing.T) {
		b := shopBrowser(t, alloc, s)
		b.signIn("shop-cancel-buyer")
		b.addToCart(coffeeID)
		b.run("to checkout", chromedp.Navigate(s.apiURL+api.StorefrontPath+"#/checkout"), chromedp.WaitVisible("#checkout-form", chromedp.ByID))
		b.checkout(contract.ChannelWeChatNative, true)
		orderNo := b.placeOrder()
		b.run("the QR code", chromedp.Poll(`document.querySelector("#qr")?.naturalWidth > 0`, nil, chromedp.WithPollingTimeout(30*time.Second)))

		b.run("re-pay with Alipay: a new QR code",
			chromedp.SetValue("#repay-channel", contract.ChannelAlipayQR, chromedp.ByID),
			chromedp.Click("#repay", chromedp.ByID),
			shopShows("#order-channel", "支付宝（扫码）"),
			chromedp.Poll(`document.querySelector("#qr")?.naturalWidth > 0`, nil, chromedp.WithPollingTimeout(30*time.Second)),
			shopShows("#pay-title", "支付宝"))
		pay := s.order(b.token(), orderNo)["payment"].(map[string]any)
		assert.Equal(t, contract.ChannelAlipayQR, pay["channel"])
		assert.Equal(t, orderNo+"_2", pay["out_trade_no"], "the second attempt")

		b.run("cancel, confirmed",
			chromedp.Click("#cancel", chromedp.ByID),
			chromedp.WaitVisible("#cancel-confirm", chromedp.ByID))
		b.shot("cancel-confirm", false)
		b.run("cancelled",
			chromedp.Click("#cancel-confirm", chromedp.ByID),
			shopShows("#status-title", "已取消"),
			chromedp.WaitNotPresent("#qr", chromedp.ByID))
		b.shot("cancelled", true)
		assert.Equal(t, "cancelled", s.order(b.token(), orderNo)["status"])
	})
}

// shopSession is one buyer's browser tab on the storefront.
type shopSession struct {
	t        *testing.T
	s        *system
	ctx      context.Context
	mu       sync.Mutex
	problems []string // console errors and uncaught exceptions
	n        int      // screenshots taken
}

// shopBrowser opens a tab in the phone viewport that records console
// errors, warnings and exceptions; the test fails on any at its end.
func shopBrowser(t *testing.T, alloc context.Context, s *system) *shopSession {
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	ctx, cancelT := context.WithTimeout(ctx, 4*time.Minute) // a bound on a hung browser, not a speed check
	t.Cleanup(cancelT)
	b := &shopSession{t: t, s: s, ctx: ctx}
	chromedp.ListenTarget(ctx, func(ev any) {
		var problem string
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError || ev.Type == runtime.APITypeWarning || ev.Type == runtime.APITypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				problem = fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			problem = "exception: " + ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				problem += " " + ev.ExceptionDetails.Exception.Description
			}
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.LevelError || ev.Entry.Level == cdplog.LevelWarning {
				problem = fmt.Sprintf("log %s (%s): %s %s", ev.Entry.Level, ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
			}
		}
		if problem != "" {
			b.mu.Lock()
			b.problems = append(b.problems, problem)
			b.mu.Unlock()
		}
	})
	require.NoError(t, chromedp.Run(ctx, cdplog.Enable(),
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(1), chromedp.EmulateMobile)))
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		assert.Empty(t, b.problems, "the storefront logs no console error, warning or exception")
	})
	return b
}

// run runs the steps of one stage, each bounded; on failure it logs the
// page and a screenshot.
func (b *shopSession) run(stage string, steps ...chromedp.Action) {
	b.t.Helper()
	if err := runSteps(b.ctx, steps...); err != nil {
		b.s.dumpPage(b.ctx)
		require.NoError(b.t, err, stage)
	}
}

// shot saves a screenshot of the page as a test artefact and, when
// SHOP_DOCS_SCREENSHOTS=1 and docs is set, as docs/img/shop-<name>.png.
func (b *shopSession) shot(name string, docs bool) {
	b.t.Helper()
	var png []byte
	require.NoError(b.t, chromedp.Run(b.ctx, chromedp.CaptureScreenshot(&png)))
	b.n++
	dir := os.Getenv("ARTIFACTS_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", ".artifacts", "browser")
	}
	dir = filepath.Join(dir, strings.ReplaceAll(b.t.Name(), "/", "-"))
	require.NoError(b.t, os.MkdirAll(dir, 0o755))
	out := filepath.Join(dir, fmt.Sprintf("%02d-%s.png", b.n, name))
	require.NoError(b.t, os.WriteFile(out, png, 0o644))
	b.t.Logf("screenshot %s", out)
	if docs && os.Getenv("SHOP_DOCS_SCREENSHOTS") == "1" {
		require.NoError(b.t, os.WriteFile(filepath.Join("..", "..", "..", "docs", "img", "shop-"+name+".png"), png, 0o644))
	}
}

// token is the buyer token the page keeps in localStorage.
func (b *shopSession) token() string {
	var tok string
	require.NoError(b.t, chromedp.Run(b.ctx, chromedp.Evaluate(`localStorage.getItem("orderpay.shop.token")`, &tok)))
	require.NotEmpty(b.t, tok)
	return tok
}

// signIn signs in with a sandbox login code and lands on the catalogue.
func (b *shopSession) signIn(code string) {
	b.t.Helper()
	b.run("sign in",
		chromedp.Navigate(b.s.apiURL+api.StorefrontPath+"#/login"),
		chromedp.WaitVisible("#code", chromedp.ByID),
		shopShows("#code-help", "沙箱"),
		chromedp.SendKeys("#code", code, chromedp.ByID),
		chromedp.Click(`#login-form button[type="submit"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#products li", chromedp.ByQuery))
}

// addToCart adds one unit of a product from the catalogue.
func (b *shopSession) addToCart(productID int) {
	b.t.Helper()
	b.run("add to the cart",
		chromedp.Click(`#products li[data-product="`+strconv.Itoa(productID)+`"] button`, chromedp.ByQuery),
		shopShows("#cart-count", "1"))
}

// checkout fills the checkout form (the page must be on it): a new
// address, or the address book's default, and the channel.
func (b *shopSession) checkout(channel string, newAddress bool) {
	b.t.Helper()
	steps := []chromedp.Action{chromedp.WaitVisible("#checkout-form", chromedp.ByID)}
	if newAddress {
		steps = append(steps,
			chromedp.SendKeys("#addr-name", "李雷", chromedp.ByID),
			chromedp.SendKeys("#addr-phone", "13800000000", chromedp.ByID),
			chromedp.SendKeys("#addr-region", "上海市黄浦区", chromedp.ByID),
			chromedp.SendKeys("#addr-detail", "南京东路 1 号", chromedp.ByID))
	}
	steps = append(steps, chromedp.Click(`#channels input[value="`+channel+`"]`, chromedp.ByQuery))
	b.run("checkout", steps...)
}

// placeOrder submits the checkout and returns the order number of the
// order page it lands on.
func (b *shopSession) placeOrder() string {
	b.t.Helper()
	b.run("place the order",
		chromedp.Click("#place-order", chromedp.ByID),
		chromedp.Poll(`location.hash.startsWith("#/order/")`, nil, chromedp.WithPollingTimeout(30*time.Second)),
		chromedp.WaitVisible("#status-title", chromedp.ByID))
	no := strings.TrimPrefix(b.location()[strings.Index(b.location(), "#"):], "#/order/")
	require.Regexp(b.t, `^\d{22}$`, no)
	return no
}

func (b *shopSession) location() string {
	var loc string
	require.NoError(b.t, chromedp.Run(b.ctx, chromedp.Location(&loc)))
	return loc
}

// shopShows waits until the element's text contains want.
func shopShows(sel, want string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		js := fmt.Sprintf(`(() => { const e = document.querySelector(%s); return !!e && e.textContent.includes(%s) })()`,
			strconv.Quote(sel), strconv.Quote(want))
		if err := chromedp.Poll(js, nil, chromedp.WithPollingTimeout(60*time.Second)).Do(ctx); err != nil {
			var text string
			_ = chromedp.Evaluate(fmt.Sprintf(`document.querySelector(%s)?.textContent ?? "(absent)"`, strconv.Quote(sel)), &text).Do(ctx)
			return fmt.Errorf("%s shows %q, want %q: %w", sel, text, want, err)
		}
		return nil
	})
}

// shopWatchCompleted records in window.shopCompletedShownAt when the
// order page first shows its order completed.
const shopWatchCompleted = `(() => {
  window.shopCompletedShownAt = 0;
  const seen = () => {
    if (!window.shopCompletedShownAt && document.querySelector("#status-title")?.textContent.includes("订单已完成")) window.shopCompletedShownAt = Date.now();
  };
  new MutationObserver(seen).observe(document.querySelector("#order-status"), { childList: true, subtree: true, characterData: true });
  seen();
})()`

// followedWithLongPoll checks, from the page's resource timing, that the
// order page read the order once and then only with the long poll
// (changed_from, wait=10), and not more often than once per change or
// per 10 s (a few status moves: pending, awaiting_payment, paid,
// completed).
func (b *shopSession) followedWithLongPoll(orderNo string) {
	b.t.Helper()
	var reads struct {
		URLs []string `json:"urls"`
		Span float64  `json:"span"` // ms from the first read to now
	}
	b.run("the page's reads of the order", chromedp.Evaluate(fmt.Sprintf(`(() => {
  const es = performance.getEntriesByType("resource").filter((e) => new URL(e.name).pathname === %s);
  return { urls: es.map((e) => e.name), span: es.length ? performance.now() - es[0].startTime : 0 };
})()`, strconv.Quote("/api/v1/orders/"+orderNo)), &reads))
	b.t.Logf("the page read the order %d times in %.1f s: %q", len(reads.URLs), reads.Span/1000, reads.URLs)
	require.GreaterOrEqual(b.t, len(reads.URLs), 2, "a first read, then the long poll")
	assert.NotContains(b.t, reads.URLs[0], "changed_from", "the first read is a plain one")
	for _, u := range reads.URLs[1:] {
		assert.Regexp(b.t, `\?changed_from=[a-z_]+&wait=10$`, u, "every later read is a long poll")
	}
	assert.LessOrEqual(b.t, len(reads.URLs), 5+int(reads.Span/10000), "one read per change or per 10 s")
}

// shopDecodeQR reads the QR code the storefront shows for an order (the
// API's PNG) and returns its text.
func shopDecodeQR(t *testing.T, s *system, token, orderNo string) string {
	t.Helper()
	res := s.api("GET", "/api/v1/orders/"+orderNo+"/qr.png", token, nil)
	require.Equal(t, 200, res.Status, "%s", res.Body)
	img, err := png.Decode(bytes.NewReader(res.Body))
	require.NoError(t, err)
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	require.NoError(t, err)
	read, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	require.NoError(t, err)
	return read.GetText()
}
