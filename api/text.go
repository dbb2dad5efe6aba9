package api

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
)

// checkText refuses a string the database could never store: bytes that
// are not UTF-8 (PostgreSQL refuses them; SQLite would store them and a
// later read would answer invalid JSON) and NUL characters (PostgreSQL
// text refuses them). Every string the API accepts passes through it
// before anything is written.
func checkText(field, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s is not valid UTF-8", field)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%s contains a NUL character", field)
	}
	return nil
}

// checkRawText is checkText for raw bytes (a JSON value kept as it came).
func checkRawText(field string, b []byte) error {
	if !utf8.Valid(b) {
		return fmt.Errorf("%s is not valid UTF-8", field)
	}
	if bytes.IndexByte(b, 0) >= 0 {
		return fmt.Errorf("%s contains a NUL character", field)
	}
	return nil
}

// checkPath refuses a request whose path (and so its order or refund
// number) is not storable text, before a handler looks it up.
func checkPath(c *fiber.Ctx) error {
	if err := checkRawText("the path", c.Request().URI().Path()); err != nil {
		return fail(c, fiber.StatusBadRequest, CodeBadRequest, err.Error())
	}
	return c.Next()
}
