package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/metrics"
	"github.com/shopflow/orderpay/internal/payments"
	"github.com/shopflow/orderpay/internal/providers"
)

// NotifyTimeout bounds how long a notify may take to be checked and handed
// to its workflow. Providers give up waiting for an answer after a few
// seconds (WeChat Pay about 5) and count that as a failure without telling
// us; when the database or Temporal is slow or down we answer a failure in
// the provider's own format before that, and the provider re-sends later.
// A provider that waits less (Baidu: 2 s) says so with
// providers.AnswerBudgeter, and its notifies get that budget.
const NotifyTimeout = 3 * time.Second

// notifyBudget is how long a notify of p may take: NotifyTimeout, the
// provider's own budget if shorter, and never more than requestTimeout.
func notifyBudget(p providers.Provider, requestTimeout time.Duration) time.Duration {
	d := NotifyTimeout
	if b, ok := p.(providers.AnswerBudgeter); ok && b.NotifyBudget() > 0 && b.NotifyBudget() < d {
		d = b.NotifyBudget()
	}
	if requestTimeout > 0 && requestTimeout < d {
		d = requestTimeout
	}
	return d
}

func (s *Server) notifyCtx(c *fiber.Ctx, p providers.Provider) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.UserContext(), notifyBudget(p, s.RequestTimeout))
}

// acceptPayment is the one notify pipeline: verify (signature, age, merchant)
// with the provider's parser, check against our payment row, deliver to the
// order's workflow. Nothing is written here; a repeat of a recorded payment
// is answered ok and changes nothing; a forged or mismatched one changes
// nothing and is logged with the order number.
func (s *Server) acceptPayment(c *fiber.Ctx, p providers.Provider) error {
	trade, err := p.ParsePaymentNotify(notifyRequest(c))
	if err != nil {
		return s.refuseUnverified(c, p, metrics.NotifyPayment, err)
	}
	setOrderNo(c, orderOfTrade(trade.OutTradeNo))
	log := s.log(c).With("provider", p.Name(), "out_trade_no", trade.OutTradeNo, "transaction_id", trade.TransactionID)
	ctx, cancel := s.notifyCtx(c, p)
	defer cancel()
	paid, err := s.Payments.CheckNotify(ctx, trade, p.Merchant())
	switch {
	case errors.Is(err, payments.ErrAlreadyRecorded):
		s.Metrics.Notify(p.Name(), metrics.NotifyPayment, metrics.NotifyAccepted, metrics.ReasonDuplicate)
		return reply(c, p.Ack(providers.PaymentNotify))
	case errors.Is(err, payments.ErrTradeUnpaid):
		// Alipay sends TRADE_CLOSED for every wap trade that closes or
		// expires unpaid; refusing it would only make Alipay re-send it.
		log.Info("notify of an unpaid trade acknowledged", "state", trade.State)
		s.Metrics.Notify(p.Name(), metrics.NotifyPayment, metrics.NotifyAccepted, metrics.ReasonUnpaid)
		return reply(c, p.Ack(providers.PaymentNotify))
	case errors.Is(err, payments.ErrNotFound):
		log.Warn("notify for an unknown order", "error", err)
		s.Metrics.Notify(p.Name(), metrics.NotifyPayment, metrics.NotifyRefused, metrics.ReasonUnknownOrder)
		return reply(c, p.Refuse(fiber.StatusNotFound, "unknown out_trade_no"))
	case errors.Is(err, payments.ErrNotifyMismatch):
		log.Error("notify does not match the payment", "error", err)
		s.Metrics.Notify(p.Name(), metrics.NotifyPayment, metrics.NotifyRefused, metrics.ReasonMismatch)
		return reply(c, p.Refuse(fiber.StatusBadRequest, "notify does not match the order"))
	case err != nil:
		log.Error("check notify", "error", err)
		s.Metrics.Notify(p.Name(), metrics.NotifyPayment, metrics.NotifyRefused, metrics.ReasonUnavailable)
		return reply(c, p.Refuse(fiber.StatusServiceUnavailable, "temporarily unavailable"))
	}
	if err := s.deliverPayment(ctx, paid); err != nil {
		log.Error("deliver payment to its order", "error", err)
		s.Metrics.Notify(p.Name(), metrics.NotifyPayment, metrics.NotifyRefused, metrics.ReasonUnavailable)
		return reply(c, p.Refuse(fiber.StatusServiceUnavailable, "temporarily unavailable"))
	}
	log.Info("payment notify accepted")
	s.Metrics.Notify(p.Name(), metrics.NotifyPayment, metrics.NotifyAccepted, metrics.ReasonOK)
	return reply(c, p.Ack(providers.PaymentNotify))
}

// orderOfTrade is the order number of a payment attempt's out_trade_no
// (<order_no> or <order_no>_N, contract.TradeNo).
func orderOfTrade(outTradeNo string) string {
	no, _, _ := strings.Cut(outTradeNo, "_")
	return no
}

// refuseUnverified answers a notify that failed verification: 400 for a
// malformed one, 401 for a forged or stale one. Nothing is written.
func (s *Server) refuseUnverified(c *fiber.Ctx, p providers.Provider, what string, err error) error {
	s.log(c).Warn("rejected "+what+" notify", "provider", p.Name(), "error", err, "remote", c.IP())
	if errors.Is(err, providers.ErrMalformedNotify) {
		s.Metrics.Notify(p.Name(), what, metrics.NotifyRefused, metrics.ReasonMalformed)
		return reply(c, p.Refuse(fiber.StatusBadRequest, "malformed notify"))
	}
	s.Metrics.Notify(p.Name(), what, metrics.NotifyRefused, metrics.ReasonUnverified)
	return reply(c, p.Refuse(fiber.StatusUnauthorized, "notify verification failed"))
}

// deliverPayment signals a verified payment to its order's workflow. If the
// workflow has finished — the order was closed or cancelled and the buyer
// paid anyway — the late-payment workflow records and refunds it, so the
// money is never dropped. Any error means "tell the provider to retry".
func (s *Server) deliverPayment(ctx context.Context, paid *payments.Paid) error {
	err := s.Temporal.SignalWorkflow(ctx, paid.OrderNo, "", contract.SignalPaymentSucceeded, paid)
	var gone *serviceerror.NotFound
	if !errors.As(err, &gone) {
		return err
	}
	s.Logger.WarnContext(ctx, "payment for a finished order: refunding it", "order_no", paid.OrderNo, "out_trade_no", paid.OutTradeNo)
	_, err = s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       contract.LatePaymentWorkflowID(paid.OutTradeNo),
		TaskQueue:                s.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		// OrderNo="…" lists every workflow of an order (docs/operations.md).
		TypedSearchAttributes: temporal.NewSearchAttributes(
			temporal.NewSearchAttributeKeyKeyword(contract.AttrOrderNo).ValueSet(paid.OrderNo)),
		StaticSummary: contract.LatePaymentSummary(*paid),
	}, contract.LatePaymentWorkflowType, *paid)
	if isAlreadyStarted(err) {
		return nil
	}
	return err
}

// acceptRefund verifies a refund notify and signals the refund's workflow.
// A refund we do not know, or whose workflow has finished, changes nothing;
// one named only by a provider refund id we have not recorded yet is
// refused, so the provider sends it again once the id is recorded — unless
// it is the provider's own refund after an approved refund audit, which is
// recorded and settled by a refund workflow (acceptProviderRefund).
func (s *Server) acceptRefund(c *fiber.Ctx, p providers.Provider) error {
	res, err := p.ParseRefundNotify(notifyRequest(c))
	if err != nil {
		return s.refuseUnverified(c, p, metrics.NotifyRefund, err)
	}
	ctx, cancel := s.notifyCtx(c, p)
	defer cancel()
	r, err := s.Payments.FindRefund(ctx, res.RefundNo, res.ProviderRefundID)
	if errors.Is(err, payments.ErrNotFound) && res.RefundNo == "" {
		if a, aerr := s.Payments.ApprovedAudit(ctx, res.ProviderRefundID); aerr == nil {
			return s.acceptProviderRefund(c, p, res, a)
		}
		// Named by the provider's refund id only (Baidu): the id is recorded
		// when the refund call answers, and the notify can overtake that
		// answer. Acknowledged, it would never come again (and Baidu cannot
		// be asked), so it is refused: the provider sends it again.
		s.log(c).Warn("refund notify ahead of its refund's provider id; refused so it is sent again",
			"provider", p.Name(), "provider_refund_id", res.ProviderRefundID)
		return reply(c, p.Refuse(fiber.StatusServiceUnavailable, "refund not recorded yet, send again"))
	}
	if errors.Is(err, payments.ErrNotFound) {
		if no, ok := contract.OrderNoOfWorkflow(contract.RefundWorkflowID(res.RefundNo)); ok {
			setOrderNo(c, no)
		}
		s.log(c).Warn("refund notify for an unknown refund", "provider", p.Name(), "refund_no", res.RefundNo, "provider_refund_id", res.ProviderRefundID)
		s.Metrics.Notify(p.Name(), metrics.NotifyRefund, metrics.NotifyAccepted, metrics.ReasonUnknownRefund)
		return reply(c, p.Ack(providers.RefundNotify))
	}
	if err != nil {
		s.Metrics.Notify(p.Name(), metrics.NotifyRefund, metrics.NotifyRefused, metrics.ReasonUnavailable)
		return reply(c, p.Refuse(fiber.StatusServiceUnavailable, "temporarily unavailable"))
	}
	res.RefundNo = r.RefundNo
	setOrderNo(c, r.OrderNo)
	if r.Kind == contract.RefundKindProvider {
		// The provider's own refund, notified again: its workflow is
		// (re)started, never signalled (it asks the provider nothing).
		return s.settleProviderRefund(c, p, r)
	}
	err = s.Temporal.SignalWorkflow(ctx, contract.RefundWorkflowID(r.RefundNo), "", contract.SignalRefundResult, res)
	var gone *serviceerror.NotFound
	if err != nil && !errors.As(err, &gone) { // finished: it settled the refund by querying
		s.log(c).Error("deliver refund result", "refund_no", r.RefundNo, "error", err)
		s.Metrics.Notify(p.Name(), metrics.NotifyRefund, metrics.NotifyRefused, metrics.ReasonUnavailable)
		return reply(c, p.Refuse(fiber.StatusServiceUnavailable, "temporarily unavailable"))
	}
	s.Metrics.Notify(p.Name(), metrics.NotifyRefund, metrics.NotifyAccepted, metrics.ReasonOK)
	return reply(c, p.Ack(providers.RefundNotify))
}

// mountNotifies serves every provider's notify URLs from the registry:
// POST /notify/{path} (payments, or whatever the provider sends there) and
// POST /notify/{path}/refund.
func (s *Server) mountNotifies(r fiber.Router) {
	for _, p := range s.Providers.Notifiers() {
		p := p
		r.Post("/notify/"+p.NotifyPath(), func(c *fiber.Ctx) error {
			if p.NotifyKindOf(notifyRequest(c)) == providers.RefundNotify {
				return s.acceptRefund(c, p)
			}
			return s.acceptPayment(c, p)
		})
		r.Post("/notify/"+p.NotifyPath()+"/refund", func(c *fiber.Ctx) error { return s.acceptRefund(c, p) })
		if a, ok := p.(providers.RefundAuditor); ok {
			r.Post("/notify/"+p.NotifyPath()+"/refund-audit", func(c *fiber.Ctx) error { return s.auditRefund(c, p, a) })
		}
	}
}

// auditRefund answers a provider's refund audit (Baidu's 退款审核): approved
// when the payment is recorded as paid and the amount is no more than what
// is left to refund, refused otherwise (payments.AuditRefund). Every
// decision is recorded, logged and counted. The refund itself is reported
// later by the provider's refund notify, acknowledged by that record.
func (s *Server) auditRefund(c *fiber.Ctx, p providers.Provider, a providers.RefundAuditor) error {
	q, err := a.ParseRefundAudit(notifyRequest(c))
	if err != nil {
		return s.refuseUnverified(c, p, metrics.NotifyRefundAudit, err)
	}
	ctx, cancel := s.notifyCtx(c, p)
	defer cancel()
	d, err := s.Payments.AuditRefund(ctx, p.Name(), *q)
	if errors.Is(err, payments.ErrAuditTooEarly) {
		s.log(c).Info("refund audit before the order is fulfilled: asked to try again", "provider", p.Name(), "out_trade_no", q.OutTradeNo, "error", err)
		s.Metrics.Notify(p.Name(), metrics.NotifyRefundAudit, metrics.NotifyRefused, metrics.ReasonUnavailable)
		return reply(c, p.Refuse(fiber.StatusServiceUnavailable, "order still being fulfilled, ask again"))
	}
	if err != nil {
		s.log(c).Error("refund audit", "provider", p.Name(), "out_trade_no", q.OutTradeNo, "error", err)
		s.Metrics.Notify(p.Name(), metrics.NotifyRefundAudit, metrics.NotifyRefused, metrics.ReasonUnavailable)
		return reply(c, p.Refuse(fiber.StatusServiceUnavailable, "temporarily unavailable"))
	}
	log := s.Logger.With("provider", p.Name(), "order_no", d.OrderNo, "out_trade_no", q.OutTradeNo,
		"transaction_id", q.TransactionID, "provider_refund_id", q.ProviderRefundID, "amount_cents", q.AmountCents)
	if !d.Approved {
		log.Warn("provider refund refused by audit", "reason", d.Reason, "refundable_cents", d.RefundableCents)
		s.Metrics.Notify(p.Name(), metrics.NotifyRefundAudit, metrics.NotifyAccepted, metrics.ReasonAuditRefused)
		return reply(c, a.AuditReply(false, 0))
	}
	// Money leaves through the provider, outside our refund workflow.
	log.Warn("provider refund approved by audit", "refundable_cents", d.RefundableCents)
	s.Metrics.Notify(p.Name(), metrics.NotifyRefundAudit, metrics.NotifyAccepted, metrics.ReasonAuditApproved)
	return reply(c, a.AuditReply(true, q.AmountCents))
}

// notifyRequest is the notify as a standard request: header and body, as
// the provider sent them (each call reads the body afresh).
func notifyRequest(c *fiber.Ctx) *http.Request {
	r, err := http.NewRequestWithContext(c.UserContext(), c.Method(), c.OriginalURL(), bytes.NewReader(c.Body()))
	if err != nil { // the method and URL came from a request fasthttp parsed
		r = &http.Request{Method: c.Method(), Body: io.NopCloser(bytes.NewReader(c.Body()))}
	}
	if r.Header == nil {
		r.Header = http.Header{}
	}
	c.Request().Header.VisitAll(func(k, v []byte) { r.Header.Add(string(k), string(v)) })
	return r
}

// reply writes a provider's notify answer.
func reply(c *fiber.Ctx, r providers.Reply) error {
	if r.ContentType != "" {
		c.Set(fiber.HeaderContentType, r.ContentType)
	}
	return c.Status(r.Status).Send(r.Body)
}
