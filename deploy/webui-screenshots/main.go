// Command webui-screenshots takes the screenshots of the Temporal Web UI in
// docs/img with headless Chromium (chromedp), against a running system
// (make run):
//
//	cd deploy/webui-screenshots && go run . -order <order_no>
//
// It signs in as an admin and sends that token with the browser's requests,
// so the Web UI decodes the encrypted payloads through the API's codec
// endpoint as an operator's browser would; it shows the search attributes
// as list columns, then opens the order's User Metadata tab. It is its own
// module, so chromedp is no dependency of the product.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// listColumns are the workflow list's columns: the order's search attributes.
const listColumns = `[{"label":"Status","pinned":true},{"label":"Workflow ID","pinned":true},` +
	`{"label":"OrderStatus","pinned":false},{"label":"PayChannel","pinned":false},{"label":"UserId","pinned":false},` +
	`{"label":"OrderNo","pinned":false},{"label":"Type","pinned":false},{"label":"Start","pinned":false}]`

func main() {
	ui := flag.String("ui", "http://127.0.0.1:8233", "Temporal Web UI")
	api := flag.String("api", "http://127.0.0.1:8080", "orderpay API (admin login)")
	user := flag.String("user", "admin", "admin account")
	password := flag.String("password", "dev-admin-password", "its password")
	ns := flag.String("namespace", "default", "Temporal namespace")
	order := flag.String("order", "", "order number whose page to capture (required)")
	out := flag.String("out", "../../docs/img", "output directory")
	chromium := flag.String("chromium", "/usr/bin/chromium", "Chromium binary")
	flag.Parse()
	if *order == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*ui, *api, *user, *password, *ns, *order, *out, *chromium); err != nil {
		fmt.Fprintln(os.Stderr, "webui-screenshots:", err)
		os.Exit(1)
	}
}

func run(ui, api, user, password, ns, order, out, chromium string) error {
	token, err := adminToken(api, user, password)
	if err != nil {
		return err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1400, 900))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var list, page []byte
	err = chromedp.Run(ctx,
		network.Enable(),
		network.SetExtraHTTPHeaders(network.Headers{"Authorization": "Bearer " + token}),
		chromedp.Navigate(ui+"/namespaces/"+ns+"/workflows"),
		chromedp.Sleep(2*time.Second),
		chromedp.Evaluate(fmt.Sprintf(`localStorage.setItem('namespace-workflow-table-columns', JSON.stringify({%q: %s})); true`, ns, listColumns), nil),
		chromedp.Reload(),
		chromedp.Sleep(5*time.Second),
		chromedp.CaptureScreenshot(&list),
		chromedp.Navigate(ui+"/namespaces/"+ns+"/workflows/"+order),
		chromedp.Sleep(5*time.Second),
		chromedp.Click(`//*[normalize-space(text())="User Metadata"]`, chromedp.BySearch),
		chromedp.Sleep(4*time.Second),
		chromedp.CaptureScreenshot(&page),
	)
	if err != nil {
		return fmt.Errorf("drive chromium: %w", err)
	}
	for name, png := range map[string][]byte{"webui-list.png": list, "webui-order.png": page} {
		if err := os.WriteFile(filepath.Join(out, name), png, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
		fmt.Printf("%s: %d bytes\n", filepath.Join(out, name), len(png))
	}
	return nil
}

// adminToken signs in to the admin API.
func adminToken(api, user, password string) (string, error) {
	body, _ := json.Marshal(map[string]string{"username": user, "password": password})
	res, err := http.Post(api+"/api/v1/admin/login", "application/json", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("admin login: %w", err)
	}
	defer func() { _ = res.Body.Close() }()
	var out struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || out.Token == "" {
		return "", fmt.Errorf("admin login: %s", res.Status)
	}
	return out.Token, nil
}
