package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// slowQuery is the duration past which a statement is logged as slow.
const slowQuery = 500 * time.Millisecond

// GORM's Scan runs its statement under a logger.Recorder instead of the
// database's logger and hands the SQL it recorded to that logger afterwards:
// the recorder filters the statement's values with the package-wide
// RecorderParamsFilter, which keeps them by default, so a failed or slow
// Scan was logged with its values (order numbers, user ids) in spite of
// ParameterizedQueries. Every database of ours logs without values, so the
// recorder drops them for all.
func init() {
	logger.RecorderParamsFilter = withoutValues
}

// withoutValues is ParameterizedQueries' filter: the SQL, no values.
func withoutValues(_ context.Context, sql string, _ ...any) (string, []any) {
	return sql, nil
}

// quietTraceLogger is GORM's logger that asks for a statement's SQL only
// when it will log it. GORM's slog logger builds the SQL text of every
// statement (its fc) before deciding whether to log it, and below Info it
// logs only failed and slow statements: that text cost about 5% of the
// API's CPU under load, for nothing.
type quietTraceLogger struct {
	logger.Interface
	level logger.LogLevel
}

// quietTrace wraps l, which logs at level, with slowQuery as its slow
// threshold and record-not-found errors ignored (store.Open's settings).
func quietTrace(l logger.Interface, level logger.LogLevel) logger.Interface {
	return quietTraceLogger{Interface: l, level: level}
}

// LogMode keeps the wrapper over the logger at its new level.
func (q quietTraceLogger) LogMode(level logger.LogLevel) logger.Interface {
	return quietTraceLogger{Interface: q.Interface.LogMode(level), level: level}
}

// Trace passes a statement on when the wrapped logger would log it: at
// Info and above every statement; at Warn and Error one that failed
// (other than with record not found) or took longer than slowQuery.
func (q quietTraceLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	if q.level <= logger.Silent {
		return
	}
	failed := err != nil && !errors.Is(err, gorm.ErrRecordNotFound)
	if q.level < logger.Info && !failed && time.Since(begin) <= slowQuery {
		return
	}
	q.Interface.Trace(ctx, begin, fc, err)
}

// ParamsFilter passes the wrapped logger's filter on (ParameterizedQueries:
// statements are logged without their values).
func (q quietTraceLogger) ParamsFilter(ctx context.Context, sql string, params ...any) (string, []any) {
	if f, ok := q.Interface.(gorm.ParamsFilter); ok {
		return f.ParamsFilter(ctx, sql, params...)
	}
	return sql, params
}
