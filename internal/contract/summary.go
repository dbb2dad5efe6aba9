package contract

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// What the Temporal Web UI shows of a workflow without opening its
// history: a static summary (one line, in the workflow list and at the
// top of its page) and static details, both set when the workflow starts,
// and the current details its code keeps up to date (the page's "Current
// details", served by the __temporal_workflow_metadata query).
//
// They name orders, money, channels and steps, and the buyer by user id
// only: never an openid, phone, name or address. The client's data
// converter encrypts them with the other payloads when
// TEMPORAL_PAYLOAD_KEYS is set, so the Web UI shows them through the codec
// endpoint (docs/operations.md, "The Web UI at a glance").

// Yuan writes an amount in cents as yuan: 6800 → "¥68.00".
func Yuan(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("%s¥%d.%02d", sign, cents/100, cents%100)
}

// OrderSummary is an order workflow's static summary: order number,
// amount, channel and buyer, e.g.
// "Order 20261201120000123456 · ¥68.00 · wechat_native · user 42".
// An amount below 0 is unknown and left out.
func OrderSummary(orderNo string, amountCents int64, channel string, userID uint) string {
	parts := []string{"Order " + orderNo}
	if amountCents >= 0 {
		parts = append(parts, Yuan(amountCents))
	}
	return strings.Join(append(parts, channel, fmt.Sprintf("user %d", userID)), " · ")
}

// OrderStaticDetails is an order workflow's static details: what was
// ordered (product ids and quantities) and the payment window.
func OrderStaticDetails(in OrderInput) string {
	items := make([]string, 0, len(in.Lines))
	for _, l := range in.Lines {
		items = append(items, fmt.Sprintf("product %d × %d", l.ProductID, l.Quantity))
	}
	timeout := in.PaymentTimeout
	if timeout <= 0 {
		timeout = DefaultPaymentTimeout
	}
	return fmt.Sprintf("**Items:** %s  \n**Payment window:** %s  \n**Buyer:** user %d",
		strings.Join(items, ", "), timeout, in.UserID)
}

// Details writes an order's state as the workflow's current details:
// status and step first, then what is known of the payment and refund.
func (s OrderState) Details(expireAt time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s** · step `%s`", s.Status, s.Step)
	if s.AmountCents > 0 || s.Status != StatusPending {
		fmt.Fprintf(&b, " · %s", Yuan(s.AmountCents))
	}
	if s.Attempt > 0 {
		fmt.Fprintf(&b, "  \nattempt %d via %s", s.Attempt, s.PayChannel)
		if s.TransactionID == "" && !expireAt.IsZero() && s.Step == StepAwaitPayment {
			fmt.Fprintf(&b, ", payable until %s", expireAt.UTC().Format("2006-01-02 15:04:05 UTC"))
		}
	}
	if s.TransactionID != "" {
		fmt.Fprintf(&b, "  \npaid: transaction %s", s.TransactionID)
	}
	if s.ExtraPayments > 0 {
		fmt.Fprintf(&b, "  \nextra payments to refund: %d", s.ExtraPayments)
	}
	if s.RefundNo != "" {
		fmt.Fprintf(&b, "  \nrefund %s (workflow refund-%s)", s.RefundNo, s.RefundNo)
	}
	if d := s.Delivery; d != nil {
		fmt.Fprintf(&b, "  \ndelivery: %s", d.Status)
		if d.Carrier != "" {
			fmt.Fprintf(&b, " · %s %s", d.Carrier, d.TrackingNo)
		}
		if d.ReceiveBy != nil && d.Status == DeliveryShipped {
			fmt.Fprintf(&b, ", received automatically at %s", d.ReceiveBy.UTC().Format("2006-01-02 15:04:05 UTC"))
		}
	}
	if s.Reason != "" {
		fmt.Fprintf(&b, "  \nreason: %s", s.Reason)
	}
	return b.String()
}

// RefundSummary is a refund workflow's static summary, e.g.
// "Refund RF20261201… of order 2026… · ¥17.00 · refund by operator". An
// amount of 0 refunds everything left.
func RefundSummary(refundNo, orderNo string, amountCents int64, reason string) string {
	amount := "everything left"
	if amountCents > 0 {
		amount = Yuan(amountCents)
	}
	s := fmt.Sprintf("Refund %s of order %s · %s", refundNo, orderNo, amount)
	if reason != "" {
		s += " · " + truncateRunes(reason, 80)
	}
	return s
}

// LatePaymentSummary is a late-payment workflow's static summary: the
// payment that arrived after its order finished, to be refunded in full.
func LatePaymentSummary(p Paid) string {
	return fmt.Sprintf("Late payment %s of order %s · %s · refund in full", p.OutTradeNo, p.OrderNo, Yuan(p.AmountCents))
}

// ReconcileSummary is the static summary of a reconciliation pass.
func ReconcileSummary(in ReconcileInput) string {
	after := in.OlderThan
	if after <= 0 {
		after = DefaultReconcileAfter
	}
	return fmt.Sprintf("Reconciliation pass: payment attempts unpaid for over %s asked at their providers", after)
}

// Details writes a reconciliation pass's progress as its current details:
// totals so far (across continue-as-new), then one line per provider.
func (r ReconcileResult) Details() string {
	var b strings.Builder
	found, late := 0, 0
	names := make([]string, 0, len(r.Providers))
	for name, p := range r.Providers {
		found, late = found+p.FoundPaid, late+p.Late
		names = append(names, name)
	}
	slices.Sort(names)
	fmt.Fprintf(&b, "run %d · checked %d · found paid %d · late %d · errors %d · skipped %d",
		r.Runs, r.Checked, found, late, r.Errors, r.Skipped)
	for _, name := range names {
		p := r.Providers[name]
		fmt.Fprintf(&b, "  \n%s: checked %d, found paid %d, late %d, errors %d, skipped %d",
			name, p.Checked, p.FoundPaid, p.Late, p.Errors, p.Skipped)
	}
	return b.String()
}
