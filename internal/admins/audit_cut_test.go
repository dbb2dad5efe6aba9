package admins

import (
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

// Audited text comes from requests and may hold any bytes: what is stored
// is valid UTF-8 without NUL (PostgreSQL text refuses both) and fits its column.
func TestCutMakesStorableText(t *testing.T) {
	for _, in := range []string{"ok", "nul\x00inside", "bad\xffbytes", "咖啡" + string(make([]byte, 300))} {
		out := cut(in, 64)
		assert.True(t, utf8.ValidString(out), "%q", out)
		assert.NotContains(t, out, "\x00")
		assert.LessOrEqual(t, len(out), 64)
	}
}
