package api

import (
	"context"
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/metrics"
	"github.com/shopflow/orderpay/internal/payments"
	"github.com/shopflow/orderpay/internal/providers"
)

// acceptProviderRefund answers the refund notify of a refund the provider
// made on its own after an approved refund audit (Baidu). A succeeded one
// is recorded (payments.OpenProviderRefund: kind provider, numbered
// contract.ProviderRefundNo) and settled by a refund workflow that takes
// back what the order granted without asking the provider; the notify is
// acknowledged once the workflow has started, and refused (the provider
// sends it again) when the database or Temporal did not answer. A refund
// the shop cannot record — the shop's own refunds took what was left — is
// acknowledged and logged at Error as money at risk, for an operator; a
// refund that did not succeed changes nothing.
func (s *Server) acceptProviderRefund(c *fiber.Ctx, p providers.Provider, res *contract.RefundResult, a *payments.RefundAudit) error {
	setOrderNo(c, a.OrderNo)
	if res.Status != contract.RefundSucceeded {
		s.log(c).Warn("provider's own refund after an approved audit did not succeed: nothing to settle",
			"provider", p.Name(), "order_no", a.OrderNo, "provider_refund_id", a.ProviderRefundID, "status", res.Status)
		s.Metrics.Notify(p.Name(), metrics.NotifyRefund, metrics.NotifyAccepted, metrics.ReasonAuditedRefund)
		return reply(c, p.Ack(providers.RefundNotify))
	}
	ctx, cancel := s.notifyCtx(c, p)
	defer cancel()
	r, err := s.Payments.OpenProviderRefund(ctx, a)
	var kinded interface{ Kind() contract.ErrorKind }
	if errors.As(err, &kinded) {
		s.log(c).Error("provider's own refund cannot be recorded: money at risk, settle the order by hand",
			"provider", p.Name(), "order_no", a.OrderNo, "provider_refund_id", a.ProviderRefundID,
			"amount_cents", a.AmountCents, "error", err)
		s.Metrics.Notify(p.Name(), metrics.NotifyRefund, metrics.NotifyAccepted, metrics.ReasonAuditedRefund)
		return reply(c, p.Ack(providers.RefundNotify))
	}
	if err != nil {
		s.log(c).Error("record provider's own refund", "provider_refund_id", a.ProviderRefundID, "error", err)
		s.Metrics.Notify(p.Name(), metrics.NotifyRefund, metrics.NotifyRefused, metrics.ReasonUnavailable)
		return reply(c, p.Refuse(fiber.StatusServiceUnavailable, "temporarily unavailable"))
	}
	return s.settleProviderRefund(c, p, r)
}

// settleProviderRefund starts (once: the workflow id is the refund's) the
// refund workflow of a provider's own refund r and acknowledges the notify;
// refused, so the provider sends it again, when Temporal did not answer.
func (s *Server) settleProviderRefund(c *fiber.Ctx, p providers.Provider, r *payments.Refund) error {
	ctx, cancel := s.notifyCtx(c, p)
	defer cancel()
	if err := s.startProviderRefund(ctx, r); err != nil {
		s.log(c).Error("start provider's refund workflow", "refund_no", r.RefundNo, "error", err)
		s.Metrics.Notify(p.Name(), metrics.NotifyRefund, metrics.NotifyRefused, metrics.ReasonUnavailable)
		return reply(c, p.Refuse(fiber.StatusServiceUnavailable, "temporarily unavailable"))
	}
	s.log(c).Info("provider's own refund after an approved audit: settling it",
		"provider", p.Name(), "order_no", r.OrderNo, "refund_no", r.RefundNo, "amount_cents", r.AmountCents)
	s.Metrics.Notify(p.Name(), metrics.NotifyRefund, metrics.NotifyAccepted, metrics.ReasonAuditedRefund)
	return reply(c, p.Ack(providers.RefundNotify))
}

// startProviderRefund starts the refund workflow of kind
// contract.RefundKindProvider for r; one already started (or finished) is
// left alone.
func (s *Server) startProviderRefund(ctx context.Context, r *payments.Refund) error {
	return s.refundStarter().Start(ctx, r.WorkflowInput(), "")
}
