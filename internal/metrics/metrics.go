// Package metrics is what a process tells Prometheus: the Temporal SDK's own
// client and worker metrics (through its tally integration), the HTTP
// requests the API served, and the business: orders by outcome, time from
// order to payment, provider notifies accepted and refused, refunds by
// outcome, and the money at risk (see MoneyAtRisk). Every process (API,
// worker, an integration test's in-process system) has its own Metrics, so
// nothing is registered twice and a test reads only its own figures.
//
// The business metrics are named orderpay_… with their unit in the name;
// docs/operations.md lists them all, and deploy/prometheus/alerts.yml alerts
// on them. Every method is safe on a nil *Metrics (it records nothing), so
// services and handlers built without metrics (unit tests) need no stub.
package metrics

import (
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
)

// Notify results and reasons (labels of orderpay_notifies_total).
const (
	NotifyAccepted = "accepted"
	NotifyRefused  = "refused"

	ReasonOK            = "ok"             // accepted: handed to its workflow
	ReasonDuplicate     = "duplicate"      // accepted: already recorded, nothing changed
	ReasonUnknownRefund = "unknown_refund" // accepted (acknowledged): no such refund, nothing changed
	ReasonUnpaid        = "unpaid"         // accepted (acknowledged): the trade closed unpaid (Alipay TRADE_CLOSED), nothing signalled
	ReasonAuditApproved = "audit_approved" // refund audit answered: the provider may refund
	ReasonAuditRefused  = "audit_refused"  // refund audit answered: the provider may not refund
	ReasonAuditedRefund = "audited_refund" // accepted: the provider's own refund after an approved audit; settled by a refund workflow (kind provider)
	ReasonMalformed     = "malformed"      // refused 400: could not be parsed
	ReasonUnverified    = "unverified"     // refused 401: bad signature, stale or wrong merchant
	ReasonUnknownOrder  = "unknown_order"  // refused 404: no such payment attempt
	ReasonMismatch      = "mismatch"       // refused 400: amount, merchant or app differs from the payment
	ReasonUnavailable   = "unavailable"    // refused 503: database or Temporal did not answer; the provider re-sends
)

// Notify kinds (label kind of orderpay_notifies_total).
const (
	NotifyPayment = "payment"
	NotifyRefund  = "refund"
	// NotifyRefundAudit is a provider's refund audit (Baidu's 退款审核).
	NotifyRefundAudit = "refund_audit"
)

// temporalReportInterval is how often the SDK's tally scope is copied into
// the Prometheus registry.
const temporalReportInterval = time.Second

// Metrics is one process's registry and the collectors recorded into it.
type Metrics struct {
	registry *prometheus.Registry
	logger   *slog.Logger

	ordersFinished *prometheus.CounterVec
	paymentSeconds prometheus.Histogram
	notifies       *prometheus.CounterVec
	refunds        *prometheus.CounterVec
	httpRequests   *prometheus.CounterVec
	httpSeconds    *prometheus.HistogramVec

	temporal       client.MetricsHandler
	temporalCloser io.Closer
}

// New builds a registry with the Go runtime and process collectors, the
// business and HTTP metrics, and the Temporal SDK's scope.
func New(logger *slog.Logger) *Metrics {
	if logger == nil {
		logger = slog.Default()
	}
	reg := prometheus.NewRegistry()
	m := &Metrics{
		registry: reg,
		logger:   logger,
		ordersFinished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderpay_orders_finished_total",
			Help: "Orders that reached an outcome status (completed, closed, cancelled, paid_unfulfilled, refunded, partially_refunded), counted once per order and status when the order record moves there.",
		}, []string{"status"}),
		paymentSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "orderpay_order_payment_seconds",
			Help:    "Time from an order's creation to its payment being recorded (the provider's payment time).",
			Buckets: []float64{5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400},
		}),
		notifies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderpay_notifies_total",
			Help: "Provider notifies by provider, kind (payment, refund), result (accepted, refused) and reason.",
		}, []string{"provider", "kind", "result", "reason"}),
		refunds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderpay_refunds_total",
			Help: "Refunds that reached a final outcome (succeeded, failed), counted once per refund number.",
		}, []string{"outcome"}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderpay_http_requests_total",
			Help: "HTTP requests served, by method, route pattern and status code.",
		}, []string{"method", "route", "status"}),
		httpSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "orderpay_http_request_duration_seconds",
			Help:    "HTTP request latency, by method, route pattern and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route", "status"}),
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.ordersFinished, m.paymentSeconds, m.notifies, m.refunds, m.httpRequests, m.httpSeconds,
	)
	m.temporal, m.temporalCloser = newTemporalHandler(reg, logger)
	return m
}

// newTemporalHandler is the Temporal SDK's metrics handler over a tally
// scope reported into reg (temporal_… metrics, timers as histograms in
// seconds).
func newTemporalHandler(reg *prometheus.Registry, logger *slog.Logger) (client.MetricsHandler, io.Closer) {
	reporter := tallyprom.NewReporter(tallyprom.Options{
		Registerer:       reg,
		DefaultTimerType: tallyprom.HistogramTimerType,
		OnRegisterError: func(err error) {
			logger.Warn("temporal metric not exported", "error", err)
		},
	})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:  reporter,
		Separator:       tallyprom.DefaultSeparator,
		SanitizeOptions: &sdktally.PrometheusSanitizeOptions,
		// tally's own tally_internal_* gauges say nothing about the service.
		OmitCardinalityMetrics: true,
	}, temporalReportInterval)
	return sdktally.NewMetricsHandler(sdktally.NewPrometheusNamingScope(scope)), closer
}

// Registry is where every collector of this process is registered.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// TemporalHandler is the MetricsHandler for the Temporal client options;
// nil on a nil *Metrics (the SDK then records nothing).
func (m *Metrics) TemporalHandler() client.MetricsHandler {
	if m == nil {
		return nil
	}
	return m.temporal
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(m.logger.Handler(), slog.LevelWarn)})
}

// Close stops the Temporal scope's reporting.
func (m *Metrics) Close() {
	if m != nil && m.temporalCloser != nil {
		_ = m.temporalCloser.Close()
	}
}

// outcomeStatuses are the order statuses orderpay_orders_finished_total counts.
var outcomeStatuses = map[string]bool{
	"completed": true, "closed": true, "cancelled": true,
	"paid_unfulfilled": true, "refunded": true, "partially_refunded": true,
}

// OrderMoved records that an order record moved to status (called once per
// real change, never for a repeated move). A move to paid observes the
// time from orderedAt to paidAt.
func (m *Metrics) OrderMoved(status string, orderedAt, paidAt time.Time) {
	if m == nil {
		return
	}
	if outcomeStatuses[status] {
		m.ordersFinished.WithLabelValues(status).Inc()
	}
	if status == "paid" && !orderedAt.IsZero() && !paidAt.IsZero() {
		d := paidAt.Sub(orderedAt)
		if d < 0 {
			d = 0
		}
		m.paymentSeconds.Observe(d.Seconds())
	}
}

// Notify records one provider notify and what the API answered.
func (m *Metrics) Notify(provider, kind, result, reason string) {
	if m == nil {
		return
	}
	m.notifies.WithLabelValues(provider, kind, result, reason).Inc()
}

// RefundFinished records a refund's final outcome (succeeded or failed),
// once per refund number.
func (m *Metrics) RefundFinished(outcome string) {
	if m == nil {
		return
	}
	m.refunds.WithLabelValues(outcome).Inc()
}

// ObserveHTTP records one served request.
func (m *Metrics) ObserveHTTP(method, route, status string, d time.Duration) {
	if m == nil {
		return
	}
	m.httpRequests.WithLabelValues(method, route, status).Inc()
	m.httpSeconds.WithLabelValues(method, route, status).Observe(d.Seconds())
}
