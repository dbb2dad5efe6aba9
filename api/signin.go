package api

import (
	"crypto/sha256"
	"encoding/base64"

	"github.com/gofiber/fiber/v2"
)

// signinScript drives the sign-in page: it posts the credentials as JSON
// to AdminSessionPath (which sets the session cookie) and shows who is
// signed in; the token itself is never shown.
const signinScript = `
const $ = (id) => document.getElementById(id);
const path = "/api/v1/admin/session";
async function show(res) {
  const body = await res.json().catch(() => ({}));
  if (res.ok) {
    const a = body.admin || body;
    $("state").textContent = "Signed in as " + a.username + " (" + a.role + "). The Temporal Web UI now decodes payloads in this browser.";
    $("out").hidden = false;
  } else {
    $("state").textContent = res.status === 401 ? "Not signed in." : ((body.error && body.error.message) || "Try again.");
    $("out").hidden = true;
  }
}
$("form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const res = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({username: $("username").value, password: $("password").value})});
  $("password").value = "";
  show(res);
});
$("out").addEventListener("click", async () => {
  await fetch(path, {method: "DELETE"});
  show(await fetch(path));
});
fetch(path).then(show);
`

// signinPage is a minimal page for an operator to sign in in the browser,
// so that the Temporal Web UI's codec calls carry the session cookie. Its
// one script is pinned by hash; it may not be framed.
var signinPage = func() fiber.Handler {
	sum := sha256.Sum256([]byte(signinScript))
	csp := "default-src 'none'; connect-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'none'; script-src 'sha256-" +
		base64.StdEncoding.EncodeToString(sum[:]) + "'"
	page := `<!doctype html><html lang="en"><meta charset="utf-8"><title>orderpay · operator sign-in</title>
<style>body{font:16px system-ui,sans-serif;max-width:28em;margin:3em auto}label{display:block;margin:.5em 0}input{width:100%}</style>
<h1>Operator sign-in</h1>
<p>Sign in here to read the encrypted order payloads in the Temporal Web UI (roles admin and support).</p>
<form id="form"><label>Username <input id="username" autocomplete="username" required></label>
<label>Password <input id="password" type="password" autocomplete="current-password" required></label>
<button>Sign in</button></form>
<p id="state" role="status"></p><button id="out" hidden>Sign out</button>
<script>` + signinScript + `</script></html>`
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentSecurityPolicy, csp)
		c.Set(fiber.HeaderXFrameOptions, "DENY")
		c.Set(fiber.HeaderCacheControl, "no-store")
		c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
		return c.SendString(page)
	}
}()
