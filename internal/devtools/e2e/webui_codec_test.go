package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/shopflow/orderpay/api"
	"github.com/shopflow/orderpay/internal/admins"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/testenv"
	"github.com/shopflow/orderpay/internal/users"
)

// An operator reads an encrypted order in the real Temporal Web UI (the
// one `temporal server start-dev` serves, as under make run) in a real
// headless Chromium: signed in on the API's sign-in page (the session
// cookie), with the UI's Codec Server dialog clicked through as
// docs/operations.md tells (browser setting, endpoint, "include
// cross-origin credentials"), the order's page shows
// the buyer's openid and phone decoded; signed out, it no longer does.
//
// WEBUI_SCREENSHOT=docs/img/webui-decoded.png (a path from the repository
// root) saves the page as the docs show it.
func TestWebUIDecodesWithSessionCookie(t *testing.T) {
	browser := chromium(t)
	// As make run starts it: the UI knows the codec endpoint (but start-dev
	// has no flag for credentials).
	uiPort, apiAddr := freePort(t), "127.0.0.1:"+strconv.Itoa(freePort(t))
	codecEndpoint := "http://" + apiAddr + api.CodecPath
	dev, err := testsuite.StartDevServer(context.Background(), testsuite.DevServerOptions{
		ExistingPath: testenv.TemporalCLI(t), LogLevel: "error", EnableUI: true, UIPort: strconv.Itoa(uiPort),
		ExtraArgs: append([]string{"--ui-codec-endpoint", codecEndpoint}, contract.SearchAttributeFlags...),
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = dev.Stop() })
	uiURL := "http://127.0.0.1:" + strconv.Itoa(uiPort)

	s := startSystem(t, options{temporal: dev.FrontendHostPort(), uiOrigin: uiURL, apiAddr: apiAddr})
	s.createAdmin("ops", "support-password-1", admins.RoleSupport)
	token, uid := s.login("code-web-ui")
	var u users.User
	require.NoError(t, s.app.DB.First(&u, uint(uid)).Error)
	orderNo := s.payAndComplete(token, coffeeID, 1, contract.ChannelWeChatJSAPI)

	ctx, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(browserProfile(t)), chromedp.WindowSize(1400, 1100))...)
	defer cancel()
	ctx, cancel = chromedp.NewContext(ctx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 3*time.Minute) // a bound on a hung browser, not a speed check
	defer cancel()

	// Sign in on the API's page: it sets the session cookie.
	var state string
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Navigate(s.apiURL+api.AdminSigninPath),
		chromedp.WaitVisible("#username", chromedp.ByID),
		chromedp.SendKeys("#username", "ops", chromedp.ByID),
		chromedp.SendKeys("#password", "support-password-1", chromedp.ByID),
		chromedp.Click("#form button", chromedp.ByQuery),
		chromedp.WaitVisible("#out", chromedp.ByID),
		chromedp.Text("#state", &state, chromedp.ByID),
	))
	assert.Contains(t, state, "Signed in as ops")

	// The UI's Codec Server dialog, clicked as docs/operations.md tells:
	// "Use my browser setting and ignore Cluster-level setting", the
	// endpoint, "Include cross-origin credentials", Apply.
	err = runSteps(ctx,
		chromedp.Navigate(uiURL+"/namespaces/default/workflows"),
		chromedp.Click(`[data-testid^="data-encoder-status"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="data-encoder-endpoint-input"]`, chromedp.ByQuery),
		// Under load a click can land before the page takes input (CI saw
		// the accordion stay shut, and once override saved "false"): the
		// accordion is clicked again every 2 s until its radio shows, and
		// the radio is clicked on the element and checked.
		chromedp.Poll(openOverrideAccordion, nil, chromedp.WithPollingTimeout(25*time.Second)),
		chromedp.Evaluate(`document.getElementById("use-local-endpoint-radio").click()`, nil),
		chromedp.Poll(`document.getElementById("use-local-endpoint-radio").checked`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.SendKeys(`[data-testid="data-encoder-endpoint-input"]`, codecEndpoint, chromedp.ByQuery),
		// The drawer's lower half sits under the page's top bar in a
		// headless window: these two are clicked on the element itself.
		chromedp.Evaluate(`document.getElementById("pass-access-credentials").click()`, nil),
		chromedp.Evaluate(`document.querySelector('[data-testid="confirm-data-encoder-button"]').click()`, nil),
		// Applied: the dialog saved the settings in the browser.
		chromedp.Poll(`localStorage.getItem("includeCredentials") === "true"`, nil, chromedp.WithPollingTimeout(20*time.Second)),
	)
	if err != nil {
		s.dumpPage(ctx)
	}
	require.NoError(t, err, "the Codec Server dialog")
	var saved map[string]string
	require.NoError(t, chromedp.Run(ctx, chromedp.Evaluate(`({override: localStorage.getItem("overrideRemoteCodecConfiguration"),
		endpoint: localStorage.getItem("endpoint"), credentials: localStorage.getItem("includeCredentials")})`, &saved)))
	assert.Equal(t, map[string]string{"override": "true", "endpoint": strconv.Quote(codecEndpoint), "credentials": "true"}, saved,
		"what the dialog saved in the browser")

	page := uiURL + "/namespaces/default/workflows/" + orderNo
	shows := func(text string) chromedp.Action {
		return chromedp.Poll("document.body.innerText.includes("+strconv.Quote(text)+")", nil,
			chromedp.WithPollingTimeout(90*time.Second))
	}
	err = chromedp.Run(ctx,
		chromedp.Navigate(page),
		shows(u.OpenID),
		shows("13800000000"),
	)
	if err != nil {
		s.dumpPage(ctx)
	}
	require.NoError(t, err, "the order page shows the buyer's openid and phone decoded")
	if out := os.Getenv("WEBUI_SCREENSHOT"); out != "" {
		var png []byte
		require.NoError(t, chromedp.Run(ctx, chromedp.Sleep(time.Second), chromedp.CaptureScreenshot(&png)))
		require.NoError(t, os.WriteFile(filepath.Join("..", "..", "..", out), png, 0o644))
	}

	// Signed out, the same page shows the payloads encrypted.
	err = chromedp.Run(ctx,
		chromedp.Navigate(s.apiURL+api.AdminSigninPath),
		chromedp.WaitVisible("#out", chromedp.ByID),
		chromedp.Click("#out", chromedp.ByID),
		chromedp.WaitNotVisible("#out", chromedp.ByID),
		chromedp.Navigate(page),
		shows("Codec Server could not connect"),
	)
	if err != nil {
		s.dumpPage(ctx)
	}
	require.NoError(t, err, "signed out, the payloads stay encrypted")
	var text string
	require.NoError(t, chromedp.Run(ctx, chromedp.Evaluate("document.body.innerText", &text)))
	assert.NotContains(t, text, u.OpenID)
}

// chromium finds the headless browser; it skips (fails in CI) without one.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testenv.Unavailable(t, "Chromium not installed (apt-get install chromium)")
	return ""
}

// browserProfile is a fresh Chromium profile directory, removed after the
// test. Not t.TempDir: Chromium's helper processes may still write into it
// for a moment after the browser is stopped, and t.TempDir fails the test
// when its removal fails; here the removal retries and then gives up
// quietly (it is a temporary directory).
func browserProfile(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "orderpay-chromium-")
	require.NoError(t, err)
	t.Cleanup(func() {
		for range 10 {
			if os.RemoveAll(dir) == nil {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Logf("browser profile %s left behind", dir)
	})
	return dir
}

// freePort is a local port nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// createAdmin adds an admin account through the API.
func (s *system) createAdmin(username, password string, role admins.Role) {
	s.t.Helper()
	res := s.api("POST", "/api/v1/admin/admins", s.admin, map[string]any{"username": username, "password": password, "role": role})
	require.Equal(s.t, 201, res.Status, "create admin: %s", res.Body)
}

// dumpPage logs what the browser shows, and saves a screenshot beside the
// test's temporary files, when the page is not as expected.
func (s *system) dumpPage(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	var text, url, storage string
	var png []byte
	_ = chromedp.Run(ctx, chromedp.Location(&url), chromedp.Evaluate("document.body.innerText", &text),
		chromedp.Evaluate("JSON.stringify(localStorage)", &storage), chromedp.CaptureScreenshot(&png))
	text = "localStorage: " + storage + "\n" + text
	out := filepath.Join(os.TempDir(), "webui-failure.png")
	_ = os.WriteFile(out, png, 0o644)
	s.t.Logf("page %s (screenshot %s):\n%s", url, out, text)
}

// runSteps runs browser actions one by one, each bounded (a hung step is
// named, not left to the test's timeout).
// openOverrideAccordion is true once the Codec Server dialog's "use my
// browser setting" radio shows; until then it clicks the accordion that
// holds it, at most every 2 s.
const openOverrideAccordion = `(() => {
	const radio = document.getElementById("use-local-endpoint-radio");
	if (radio && radio.offsetParent !== null) return true;
	const button = document.querySelector('[data-testid="override-accordion"] button');
	if (button && !(Date.now() - (window.__accordionClicked || 0) < 2000)) {
		button.click();
		window.__accordionClicked = Date.now();
	}
	return false;
})()`

func runSteps(ctx context.Context, steps ...chromedp.Action) error {
	for i, a := range steps {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := chromedp.Run(sctx, a)
		cancel()
		if err != nil {
			return fmt.Errorf("step %d: %w", i+1, err)
		}
	}
	return nil
}
