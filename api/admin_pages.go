package api

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// ConsolePath is where the operator console is served: plain HTML, CSS
// and JavaScript modules from api/web/admin, embedded in the binary (no
// build step, so nothing built can drift from the source). It speaks to
// the admin API with the bearer token of POST /api/v1/admin/session, kept
// in the tab's sessionStorage.
const ConsolePath = "/admin/"

//go:embed web/admin
var consoleFiles embed.FS

// consoleCSP allows the console's own scripts, styles and API calls and
// nothing else: no inline script or style, no other origin, no framing.
const consoleCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// consoleAsset is one embedded file, ready to serve.
type consoleAsset struct {
	body        []byte
	contentType string
	etag        string
}

// mountConsole serves the console: /admin redirects to /admin/, which is
// index.html; other paths below it are the embedded files, 404 otherwise.
func (s *Server) mountConsole(app *fiber.App) {
	assets := loadConsole()
	app.Get(ConsolePath+"*", func(c *fiber.Ctx) error {
		if !strings.HasSuffix(c.Path(), "/") && c.Params("*") == "" {
			// /admin (which the route matches too): the page's relative
			// links need the slash.
			return c.Redirect(ConsolePath, fiber.StatusMovedPermanently)
		}
		name := c.Params("*")
		if name == "" {
			name = "index.html"
		}
		a, ok := assets[name]
		if !ok {
			return fail(c, fiber.StatusNotFound, CodeNotFound, "no such page")
		}
		c.Set(fiber.HeaderContentSecurityPolicy, consoleCSP)
		c.Set(fiber.HeaderXFrameOptions, "DENY")
		c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
		c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
		c.Set(fiber.HeaderContentType, a.contentType)
		if strings.HasSuffix(name, ".html") {
			c.Set(fiber.HeaderCacheControl, "no-store")
		} else {
			// Revalidated on every load: a new binary's files are never
			// mixed with an old page's.
			c.Set(fiber.HeaderCacheControl, "no-cache")
			c.Set(fiber.HeaderETag, a.etag)
			if c.Get(fiber.HeaderIfNoneMatch) == a.etag {
				return c.SendStatus(fiber.StatusNotModified)
			}
		}
		return c.Send(a.body)
	})
}

// loadConsole reads the embedded files once.
func loadConsole() map[string]consoleAsset {
	root, err := fs.Sub(consoleFiles, "web/admin")
	if err != nil {
		panic("console files: " + err.Error())
	}
	assets := map[string]consoleAsset{}
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		ct := mime.TypeByExtension(path.Ext(p))
		switch path.Ext(p) { // not left to the host's mime tables
		case ".js":
			ct = "text/javascript; charset=utf-8"
		case ".css":
			ct = "text/css; charset=utf-8"
		case ".html":
			ct = fiber.MIMETextHTMLCharsetUTF8
		case ".svg":
			ct = "image/svg+xml"
		}
		sum := sha256.Sum256(body)
		assets[p] = consoleAsset{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic("console files: " + err.Error())
	}
	return assets
}
