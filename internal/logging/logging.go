// Package logging builds the processes' slog loggers: JSON lines by
// default (LOG_FORMAT=text for people at a terminal), at LOG_LEVEL. Every
// line about an order carries order_no: bound by the code that logs it
// (the API's request logger, the workflows' loggers), carried by the
// context (With), or derived from the Temporal workflow id on the lines
// of the Temporal SDK and of activities (contract.OrderNoOfWorkflow), or
// from a payment attempt's out_trade_no (the provider sandbox's lines).
// Attributes whose key names a secret or personal data (Sensitive) are
// written as "[redacted]" whatever their value.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/shopflow/orderpay/internal/contract"
)

// Options choose the format and the level.
type Options struct {
	// Format is "json" (default) or "text".
	Format string
	// Level is debug, info (default), warn or error.
	Level string
}

// KeyOrderNo and KeyRequestID are the attribute keys of the order number
// and of the API's request id.
const (
	KeyOrderNo   = "order_no"
	KeyRequestID = "request_id"
)

// keyWorkflowID is the Temporal SDK's attribute key of a workflow id;
// keyOutTradeNo a payment attempt's provider order number
// (<order_no> or <order_no>_N, contract.TradeNo).
const (
	keyWorkflowID = "WorkflowID"
	keyOutTradeNo = "out_trade_no"
)

// Sensitive are the attribute keys whose values are never written: a
// value logged by mistake under one of them shows as "[redacted]".
var Sensitive = map[string]bool{
	"openid": true, "unionid": true, "open_id": true, "union_id": true,
	"phone": true, "mobile": true, "address": true, "receiver": true,
	"token": true, "access_token": true, "password": true, "secret": true,
	"authorization": true, "session_key": true, "api_key": true,
}

// FromEnv builds the logger of a process from LOG_FORMAT and LOG_LEVEL,
// writing to w.
func FromEnv(w io.Writer) (*slog.Logger, error) {
	return New(w, Options{Format: os.Getenv("LOG_FORMAT"), Level: os.Getenv("LOG_LEVEL")})
}

// New builds a logger writing to w.
func New(w io.Writer, o Options) (*slog.Logger, error) {
	var level slog.Level
	if o.Level != "" {
		if err := level.UnmarshalText([]byte(o.Level)); err != nil {
			return nil, fmt.Errorf("LOG_LEVEL=%q: want debug, info, warn or error", o.Level)
		}
	}
	ho := &slog.HandlerOptions{Level: level, ReplaceAttr: redact}
	var h slog.Handler
	switch strings.ToLower(o.Format) {
	case "", "json":
		h = slog.NewJSONHandler(w, ho)
	case "text":
		h = slog.NewTextHandler(w, ho)
	default:
		return nil, fmt.Errorf("LOG_FORMAT=%q: want json or text", o.Format)
	}
	return slog.New(Wrap(h)), nil
}

// MustFromEnv is FromEnv for development tools: a bad setting falls back
// to JSON at info, with a warning.
func MustFromEnv(w io.Writer) *slog.Logger {
	l, err := FromEnv(w)
	if err != nil {
		l, _ = New(w, Options{})
		l.Warn("logging settings ignored", "error", err)
	}
	return l
}

func redact(groups []string, a slog.Attr) slog.Attr {
	if Sensitive[strings.ToLower(a.Key)] {
		return slog.String(a.Key, "[redacted]")
	}
	return a
}

type ctxKey struct{}

// With returns ctx carrying attributes that every line logged with it
// (slog's …Context methods, GORM's lines) gets: the API puts the request
// id and the order number there.
func With(ctx context.Context, args ...any) context.Context {
	prev, _ := ctx.Value(ctxKey{}).([]slog.Attr)
	r := slog.NewRecord(time.Time{}, 0, "", 0)
	r.Add(args...)
	attrs := append([]slog.Attr(nil), prev...)
	r.Attrs(func(a slog.Attr) bool { attrs = append(attrs, a); return true })
	return context.WithValue(ctx, ctxKey{}, attrs)
}

// Wrap adds what this package promises to any handler: the context's
// attributes (With) and order_no derived from a Temporal workflow id.
func Wrap(h slog.Handler) slog.Handler {
	if oh, ok := h.(*orderHandler); ok {
		return oh
	}
	return &orderHandler{next: h}
}

// orderHandler adds the context's attributes and, on a line that names a
// Temporal workflow of an order but not the order, its order_no.
type orderHandler struct {
	next       slog.Handler
	hasOrder   bool   // order_no is bound
	hasRequest bool   // request_id is bound
	workflowID string // the bound WorkflowID
	outTradeNo string // the bound out_trade_no
	grouped    bool   // attributes now go into a group: add nothing
}

func (h *orderHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *orderHandler) Handle(ctx context.Context, r slog.Record) error {
	if h.grouped {
		return h.next.Handle(ctx, r)
	}
	hasOrder, hasRequest, wid, trade := h.hasOrder, h.hasRequest, h.workflowID, h.outTradeNo
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case keyOutTradeNo:
			trade = a.Value.String()
		case KeyOrderNo:
			hasOrder = true
		case KeyRequestID:
			hasRequest = true
		case keyWorkflowID:
			wid = a.Value.String()
		}
		return true
	})
	var extra []slog.Attr
	if ctx != nil {
		if attrs, ok := ctx.Value(ctxKey{}).([]slog.Attr); ok {
			for _, a := range attrs {
				switch {
				case a.Key == KeyOrderNo && hasOrder, a.Key == KeyRequestID && hasRequest:
					continue
				case a.Key == KeyOrderNo:
					hasOrder = true
				}
				extra = append(extra, a)
			}
		}
		if wid == "" && activity.IsActivity(ctx) {
			wid = activity.GetInfo(ctx).WorkflowExecution.ID
		}
	}
	if !hasOrder && wid != "" {
		if no, ok := contract.OrderNoOfWorkflow(wid); ok {
			extra = append(extra, slog.String(KeyOrderNo, no))
			hasOrder = true
		}
	}
	if !hasOrder && trade != "" {
		if no, _, _ := strings.Cut(trade, "_"); no != "" {
			extra = append(extra, slog.String(KeyOrderNo, no))
		}
	}
	if len(extra) > 0 {
		r = r.Clone()
		r.AddAttrs(extra...)
	}
	return h.next.Handle(ctx, r)
}

func (h *orderHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.next = h.next.WithAttrs(attrs)
	if !h.grouped {
		for _, a := range attrs {
			switch a.Key {
			case KeyOrderNo:
				c.hasOrder = true
			case KeyRequestID:
				c.hasRequest = true
			case keyWorkflowID:
				c.workflowID = a.Value.String()
			case keyOutTradeNo:
				c.outTradeNo = a.Value.String()
			}
		}
	}
	return &c
}

func (h *orderHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.next = h.next.WithGroup(name)
	c.grouped = true
	return &c
}
