package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/api"
	"github.com/shopflow/orderpay/internal/admins"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/orders"
)

// An operator signs in to the console at /admin/ in a real headless
// Chromium, finds a paid WeChat Native order by its number, opens it (its
// workflow step, the link to the Temporal Web UI), refunds part of it and
// then the rest, each confirmed in the dialog, and sees each refund
// succeed; ships the order when the delivery routes exist; adjusts a
// product's stock. A support operator sees the same order without the
// refund form. The browser reports no console error throughout.
//
// Screenshots go to .artifacts/console/ (CONSOLE_ARTIFACTS overrides it);
// CONSOLE_DOCS_IMG=1 also writes the docs' docs/img/console-*.png.
func TestConsoleOperatorRefundsAnOrder(t *testing.T) {
	browser := chromium(t)
	t.Setenv("TEMPORAL_UI_URL", "http://127.0.0.1:8233") // the link make run gives
	s := startSystem(t, options{})
	s.createAdmin("help", "support-password-1", admins.RoleSupport)
	buyer, _ := s.login("code-console")
	orderNo := s.payAndComplete(buyer, coffeeID, 1, contract.ChannelWeChatNative) // ¥68.00
	res := s.placeOrder(buyer, membershipID, 1, contract.ChannelWeChatNative)     // left unpaid
	require.Equal(t, 201, res.Status, "%s", res.Body)
	unpaid := res.JSON(t)["order_no"].(string)
	b := consoleBrowser(t, s, browser)

	// Sign in: the list shows each order's workflow step (the unpaid one
	// waits for payment); find the paid order by its number.
	b.signIn(bootstrapAdmin, bootstrapPassword)
	var waiting string
	b.run("read the unpaid order's step", chromedp.AttributeValue(fmt.Sprintf(`#orders tr[data-order-no=%q] [data-step]`, unpaid),
		"data-step", &waiting, nil, chromedp.ByQuery))
	assert.Equal(t, string(contract.StepAwaitPayment), waiting)
	b.screenshot("orders", true)
	row := fmt.Sprintf(`#orders tr[data-order-no=%q]`, orderNo)
	b.run("search the order",
		chromedp.SendKeys("#search-order-no", orderNo, chromedp.ByQuery),
		chromedp.Click(`#order-filters button[type="submit"]`, chromedp.ByQuery),
		chromedp.WaitVisible(row, chromedp.ByQuery),
	)
	var step, status string
	// A step the workflow did not give within the list's budget is blank
	// (api orderSteps), as on a loaded machine: search again, as an
	// operator would.
	for try := 1; ; try++ {
		b.run("read the row",
			chromedp.AttributeValue(row+` [data-step]`, "data-step", &step, nil, chromedp.ByQuery),
			chromedp.AttributeValue(row+` [data-status]`, "data-status", &status, nil, chromedp.ByQuery),
		)
		if step != "" || try == 5 {
			break
		}
		b.run("search the order again",
			chromedp.Click(`#order-filters button[type="submit"]`, chromedp.ByQuery),
			chromedp.Sleep(time.Second),
			chromedp.WaitVisible(row, chromedp.ByQuery),
		)
	}
	assert.Equal(t, orders.StatusCompleted, status)
	assert.NotEmpty(t, step, "the list shows the workflow's step")

	// The order's page: the workflow's step and its Web UI link.
	b.run("open the order",
		chromedp.Click(row+" a", chromedp.ByQuery),
		chromedp.WaitVisible("#refund-form", chromedp.ByQuery),
	)
	var link string
	var ok bool
	b.run("read the workflow",
		chromedp.WaitVisible("#workflow-step", chromedp.ByQuery),
		chromedp.AttributeValue("#webui-link", "href", &link, &ok, chromedp.ByQuery),
	)
	if assert.True(t, ok, "the Web UI link") {
		assert.Equal(t, "http://127.0.0.1:8233/namespaces/default/workflows/"+orderNo, link)
	}

	// A partial refund of ¥10.00, confirmed in the dialog.
	b.run("ask a partial refund",
		chromedp.SendKeys("#refund-amount", "10", chromedp.ByQuery),
		chromedp.SendKeys("#refund-reason", "部分退款 e2e", chromedp.ByQuery),
		chromedp.Click("#refund-submit", chromedp.ByQuery),
		chromedp.WaitVisible("#confirm-ok", chromedp.ByQuery),
	)
	var question string
	b.run("read the confirmation", chromedp.Text("#confirm-text", &question, chromedp.ByQuery))
	assert.Contains(t, question, "¥10.00")
	b.screenshot("refund-confirm", true)
	b.run("confirm the partial refund",
		chromedp.Click("#confirm-ok", chromedp.ByQuery),
		b.until(`document.querySelectorAll('#refund-list tr[data-status="succeeded"]').length === 1 &&
			document.querySelector('#order').dataset.status === "partially_refunded"`),
	)

	// The rest: an empty amount is everything left (¥58.00).
	b.run("ask the full refund",
		chromedp.WaitVisible("#refund-form", chromedp.ByQuery),
		chromedp.Click("#refund-submit", chromedp.ByQuery),
		chromedp.WaitVisible("#confirm-ok", chromedp.ByQuery),
		chromedp.Text("#confirm-text", &question, chromedp.ByQuery),
	)
	assert.Contains(t, question, "¥58.00")
	b.run("confirm the full refund",
		chromedp.Click("#confirm-ok", chromedp.ByQuery),
		b.until(`document.querySelectorAll('#refund-list tr[data-status="succeeded"]').length === 2 &&
			document.querySelector('#order').dataset.status === "refunded" && !!document.querySelector('#refund-none')`),
	)
	b.run("show the refunds", chromedp.Evaluate(`document.querySelector("#refunds").scrollIntoView({block: "center"})`, nil))
	b.screenshot("order-refunded", true)
	var sum int64
	require.NoError(t, s.app.DB.Table("refunds").Where("order_no = ? AND status = ?", orderNo, "succeeded").
		Select("COALESCE(SUM(amount_cents), 0)").Scan(&sum).Error)
	assert.EqualValues(t, 6800, sum, "both refunds reached the provider and settled")

	// Products: a stock adjustment with its reason, confirmed.
	before := s.stock(mugID)
	mug := fmt.Sprintf(`#products tr[data-product-id="%d"]`, mugID)
	b.run("adjust the stock",
		chromedp.Click(`[data-nav="products"]`, chromedp.ByQuery),
		chromedp.WaitVisible(mug, chromedp.ByQuery),
		chromedp.SendKeys(mug+" .stock-delta", "+5", chromedp.ByQuery),
		chromedp.SendKeys(mug+" .stock-reason", "盘点 stocktake", chromedp.ByQuery),
		chromedp.Click(mug+` .stock-form button[type="submit"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#confirm-ok", chromedp.ByQuery),
		chromedp.Click("#confirm-ok", chromedp.ByQuery),
		b.until(fmt.Sprintf(`document.querySelector('%s [data-stock]')?.dataset.stock === "%d"`, mug, before+5)),
	)
	b.screenshot("products", true)
	assert.Equal(t, before+5, s.stock(mugID))

	b.shipIfDelivered(s, buyer)

	// A support operator reads the same order without the refund form.
	b.run("sign out", chromedp.Click("#signout", chromedp.ByQuery), chromedp.WaitVisible("#signin-form", chromedp.ByQuery))
	b.signIn("help", "support-password-1")
	b.run("support opens the order",
		chromedp.Navigate(s.apiURL+api.ConsolePath+"#/orders/"+orderNo),
		chromedp.WaitVisible("#refund-denied", chromedp.ByQuery),
	)
	var forms int
	b.run("count refund forms", chromedp.Evaluate(`document.querySelectorAll('#refund-form, #ship-form').length`, &forms))
	assert.Zero(t, forms, "support sees no refund or ship form")
	b.screenshot("support-order", false)
	b.noConsoleErrors()
}

// consoleSession is one headless Chromium on the console, with the
// browser's console errors collected and screenshots saved.
type consoleSession struct {
	t      *testing.T
	s      *system
	ctx    context.Context
	dir    string
	mu     sync.Mutex
	errors []string
}

func consoleBrowser(t *testing.T, s *system, browser string) *consoleSession {
	ctx, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(browserProfile(t)), chromedp.WindowSize(1200, 1000))...)
	t.Cleanup(cancel)
	ctx, cancel = chromedp.NewContext(ctx)
	t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, 4*time.Minute) // a bound on a hung browser, not a speed check
	t.Cleanup(cancel)
	dir := os.Getenv("CONSOLE_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(consoleRepoRoot(t), ".artifacts", "console")
	}
	require.NoError(t, os.RemoveAll(dir)) // this run's screenshots only
	require.NoError(t, os.MkdirAll(dir, 0o755))
	t.Logf("console screenshots in %s", dir)
	// The browser starts with the first Run, and lives as long as its
	// context: start it on the session's, not on a step's.
	require.NoError(t, chromedp.Run(ctx))
	b := &consoleSession{t: t, s: s, ctx: ctx, dir: dir}
	chromedp.ListenTarget(ctx, func(ev any) {
		var msg string
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError || ev.Type == runtime.APITypeAssert {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				msg = "console." + string(ev.Type) + ": " + strings.Join(parts, " ")
			}
		case *runtime.EventExceptionThrown:
			msg = "exception: " + ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				msg += " " + ev.ExceptionDetails.Exception.Description
			}
		case *log.EventEntryAdded: // CSP violations, failed loads
			if ev.Entry.Level == log.LevelError {
				msg = "log: " + ev.Entry.Text + " " + ev.Entry.URL
			}
		}
		if msg != "" {
			b.mu.Lock()
			b.errors = append(b.errors, msg)
			b.mu.Unlock()
		}
	})
	b.run("open the console", chromedp.Navigate(s.apiURL+api.ConsolePath), chromedp.WaitVisible("#signin-form", chromedp.ByQuery))
	return b
}

// run runs browser actions, each bounded, and on failure logs the page and
// saves a screenshot.
func (b *consoleSession) run(what string, actions ...chromedp.Action) {
	b.t.Helper()
	if err := runSteps(b.ctx, actions...); err != nil {
		b.screenshot("failure-"+strings.ReplaceAll(what, " ", "-"), false)
		b.s.dumpPage(b.ctx)
		b.t.Fatalf("%s: %v (console errors: %q)", what, err, b.errors)
	}
}

// until waits for a JavaScript condition (a refund settling in the
// sandbox, say).
func (b *consoleSession) until(cond string) chromedp.Action {
	return chromedp.Poll(cond, nil, chromedp.WithPollingTimeout(25*time.Second), chromedp.WithPollingInterval(100*time.Millisecond))
}

func (b *consoleSession) signIn(username, password string) {
	b.t.Helper()
	b.run("sign in as "+username,
		chromedp.WaitVisible("#signin-form", chromedp.ByQuery),
		chromedp.SendKeys("#username", username, chromedp.ByQuery),
		chromedp.SendKeys("#password", password, chromedp.ByQuery),
		chromedp.Click(`#signin-form button[type="submit"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#orders", chromedp.ByQuery),
	)
}

// screenshot saves the page as <name>.png in the artefacts; with docs
// and CONSOLE_DOCS_IMG=1 also as docs/img/console-<name>.png.
func (b *consoleSession) screenshot(name string, docs bool) {
	b.t.Helper()
	var png []byte
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	var text string
	if err := chromedp.Run(ctx, chromedp.Evaluate(`document.body.innerText`, &text)); err == nil {
		assert.NotRegexp(b.t, `\b(null|undefined|NaN)\b|\[object `, text, "%s: a value the page failed to format", name)
	}
	if err := chromedp.Run(ctx, chromedp.CaptureScreenshot(&png)); err != nil { // the window, 1200 × 1000
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	require.NoError(b.t, os.WriteFile(filepath.Join(b.dir, name+".png"), png, 0o644))
	if docs && os.Getenv("CONSOLE_DOCS_IMG") == "1" {
		require.NoError(b.t, os.WriteFile(filepath.Join(consoleRepoRoot(b.t), "docs", "img", "console-"+name+".png"), png, 0o644))
	}
}

// shipIfDelivered ships a second, paid goods order from its page when the
// API has delivery (POST /admin/orders/{order_no}/ship and the order
// view's delivery), and says so in the log when it has not.
func (b *consoleSession) shipIfDelivered(s *system, buyer string) {
	b.t.Helper()
	orderNo := s.payAndComplete(buyer, coffeeID, 1, contract.ChannelWeChatNative)
	d, _ := s.order(buyer, orderNo)["delivery"].(map[string]any)
	if d == nil {
		b.t.Log("delivery is not in this API (no delivery in the order view): the ship step is skipped")
		return
	}
	b.run("ship the order",
		chromedp.Navigate(s.apiURL+api.ConsolePath+"#/orders/"+orderNo),
		chromedp.WaitVisible("#ship-form", chromedp.ByQuery),
		chromedp.SendKeys("#ship-carrier", "顺丰 SF", chromedp.ByQuery),
		chromedp.SendKeys("#ship-tracking", "SF100200300", chromedp.ByQuery),
		chromedp.Click("#ship-submit", chromedp.ByQuery),
		chromedp.WaitVisible("#confirm-ok", chromedp.ByQuery),
		chromedp.Click("#confirm-ok", chromedp.ByQuery),
		b.until(`document.querySelector('#delivery-state')?.dataset.state === "shipped"`),
	)
	b.screenshot("order-shipped", true)
}

// noConsoleErrors fails the test on any error the browser reported.
func (b *consoleSession) noConsoleErrors() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	assert.Empty(b.t, b.errors, "the browser's console errors")
}

// consoleRepoRoot is the repository's root (this package is three below).
func consoleRepoRoot(t *testing.T) string {
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(root, "go.mod"))
	require.NoError(t, err, "the repository root")
	return root
}
