package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// traceCounter is a GORM logger that counts the statements handed to it.
type traceCounter struct {
	logger.Interface
	traced int
}

func (c *traceCounter) Trace(_ context.Context, _ time.Time, fc func() (string, int64), _ error) {
	c.traced++
	fc()
}

// TestQuietTrace: below Info, a fast statement that succeeded (or found no
// record) never has its SQL built; a failed or slow one is passed on, and
// at Info every one is.
func TestQuietTrace(t *testing.T) {
	ctx := context.Background()
	fast, slow := time.Now(), time.Now().Add(-2*slowQuery)
	cases := []struct {
		name  string
		level logger.LogLevel
		begin time.Time
		err   error
		want  bool
	}{
		{"fast ok", logger.Warn, fast, nil, false},
		{"not found", logger.Warn, fast, gorm.ErrRecordNotFound, false},
		{"failed", logger.Warn, fast, errors.New("no such table"), true},
		{"slow", logger.Warn, slow, nil, true},
		{"failed at Error", logger.Error, fast, errors.New("no such table"), true},
		{"fast ok at Info", logger.Info, fast, nil, true},
		{"failed when silent", logger.Silent, fast, errors.New("no such table"), false},
	}
	for _, c := range cases {
		inner := &traceCounter{}
		built := 0
		quietTrace(inner, c.level).Trace(ctx, c.begin, func() (string, int64) { built++; return "SELECT 1", 1 }, c.err)
		assert.Equal(t, c.want, inner.traced == 1, c.name)
		assert.Equal(t, c.want, built == 1, "%s: SQL built", c.name)
	}
}
