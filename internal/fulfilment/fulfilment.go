// Package fulfilment is the one place that decides what a paid order
// delivers and what a refund takes back, by what the order bought —
// whatever channel paid for it:
//
//   - goods: stock (taken before fulfilment, returned on a full refund) and points;
//   - membership: membership time (extended from the current end) and points;
//   - recharge: the amount credited to the buyer's wallet, no points.
//
// Every grant and every reversal is keyed (order_no, refund_no), so retries
// change nothing. A refund takes back its cumulative share: after refunds
// totalling R of the T cents paid, floor(grant × R / T) of each grant —
// points, membership days, wallet top-up — has been taken back in all, each
// refund taking that minus what the order's earlier refunds already took
// (read from the ledgers). Split refunds never take back more than the
// order granted, and once everything is refunded exactly the grant. A
// top-up is taken back before the money leaves, counting the refunds still
// pending; a refund that then fails gives back (ReleaseTopUp) what the
// order's refunds hold beyond the share of those not failed, so once all
// settle the take-back is the succeeded refunds' share.
package fulfilment

import (
	"context"
	"errors"
	"fmt"

	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/rewards"
	"github.com/shopflow/orderpay/internal/wallet"
	"gorm.io/gorm"
)

// ErrRechargeSpent means a top-up cannot be refunded because the buyer has
// already spent the balance it added.
var ErrRechargeSpent = contract.Kinded(contract.ErrRechargeSpent, "the top-up has been spent")

// ErrNotFulfilledYet refuses a refund of an order its workflow may still
// fulfil (pending, awaiting payment, or paid and being fulfilled): the
// refund's take-back would run before the grant and take nothing, and the
// grant would then give the buyer the whole top-up (points, membership)
// on top of the refund. Of kind NotRefundable; retry once it completes.
var ErrNotFulfilledYet = contract.Kinded(contract.ErrNotRefundable, "the order is not fulfilled yet")

// ErrRefundedByWorkflow refuses an operator's refund of an order its own
// workflow refunds in full (paid_unfulfilled: out of stock, amount
// mismatch, cancelled after payment). A refund of everything left accepted
// before the automatic refund is recorded leaves that refund nothing to
// refund: it fails (refund too large) and is retried hourly for days, even
// once the operator's refund has refunded the order; if the operator's
// refund fails, the money waits an hour for the retry. The operator's lever
// is the order workflow's resolve-refund signal (retry now, or settled by
// hand). Of kind NotRefundable.
var ErrRefundedByWorkflow = contract.Kinded(contract.ErrNotRefundable, "the order is refunded by its workflow")

// Service fulfils orders and reverses refunds.
type Service struct {
	Orders  *orders.Service
	Catalog *catalog.Service
	Rewards *rewards.Service
	Wallet  *wallet.Service
	Refunds RefundLedger // the refunds of an order, for a top-up's take-back
}

// Within returns the service over tx, a transaction of the caller's, with
// ord (the order service over the same transaction) for the order records.
func (s *Service) Within(tx *gorm.DB, ord *orders.Service) *Service {
	return &Service{Orders: ord, Catalog: s.Catalog.Within(tx), Rewards: s.Rewards.Within(tx),
		Wallet: s.Wallet.Within(tx), Refunds: s.Refunds}
}

// RefundLedger is what fulfilment reads of the refund records (the
// payments service keeps them); fulfilment never writes them.
type RefundLedger interface {
	// RefundsOf lists an order's refunds, whatever their status.
	RefundsOf(ctx context.Context, orderNo string) ([]contract.Refund, error)
	// RefundsWithin lists them inside tx, the transaction holding the
	// buyer's wallet lock.
	RefundsWithin(ctx context.Context, tx *gorm.DB, orderNo string) ([]contract.Refund, error)
}

// Delivered is what a completed order gave the buyer.
type Delivered = contract.Delivered

// Summary is what an order's items ask for, by kind.
type Summary struct {
	PointsBaseCents int64 // amount that earns points (everything but top-ups)
	MembershipDays  int
	RechargeCents   int64
	GoodsLines      []catalog.Line
}

// Summarise reads an order's snapshot by item kind.
func Summarise(o *orders.Order) Summary {
	var s Summary
	for _, it := range o.Items {
		switch it.Kind {
		case catalog.KindRecharge:
			s.RechargeCents += it.SubtotalCents
			continue
		case catalog.KindMembership:
			s.MembershipDays += it.MembershipDays * int(it.Quantity)
		case catalog.KindGoods:
			s.GoodsLines = append(s.GoodsLines, catalog.Line{ProductID: it.ProductID, Quantity: it.Quantity})
		}
		s.PointsBaseCents += it.SubtotalCents
	}
	return s
}

// Fulfil delivers a paid order: points, membership and wallet credit.
func (s *Service) Fulfil(ctx context.Context, orderNo string, pointsPerYuan int64) (*Delivered, error) {
	o, err := s.Orders.Get(ctx, orderNo)
	if err != nil {
		return nil, err
	}
	return s.FulfilOrder(ctx, o, pointsPerYuan)
}

// FulfilOrder is Fulfil for an order already read with its items (its
// number, user and items are what it uses).
func (s *Service) FulfilOrder(ctx context.Context, o *orders.Order, pointsPerYuan int64) (*Delivered, error) {
	orderNo := o.OrderNo
	sum := Summarise(o)
	granted, err := s.Rewards.GrantOrder(ctx, rewards.Grant{
		OrderNo: orderNo, UserID: o.UserID, AmountCents: sum.PointsBaseCents,
		PointsPerYuan: pointsPerYuan, MembershipDays: sum.MembershipDays,
	})
	if err != nil {
		return nil, err
	}
	out := &Delivered{Points: granted.Points, MemberUntil: granted.MemberUntil}
	if sum.RechargeCents > 0 {
		if _, err := s.Wallet.Credit(ctx, o.UserID, orderNo, wallet.KindRecharge, sum.RechargeCents); err != nil {
			return nil, fmt.Errorf("credit top-up of %s: %w", orderNo, err)
		}
		out.RechargedCents = sum.RechargeCents
	}
	return out, nil
}

// ReclaimTopUp takes back the wallet credit of a refunded top-up before the
// money leaves: the refund's cumulative share of the credit (this refund and
// every other refund of the order not failed, over what was paid) minus what
// the order's refunds already took back and kept. The refunds are read under
// the buyer's wallet lock, so a refund that fails meanwhile (ReleaseTopUp)
// is never counted by one and given back by the other. It fails with
// ErrRechargeSpent — of that kind only, never the wallet's
// InsufficientBalance — when the balance no longer holds it, changing
// nothing.
func (s *Service) ReclaimTopUp(ctx context.Context, orderNo, refundNo string, refundCents, totalCents int64) (int64, error) {
	c, err := s.credit(ctx, orderNo, totalCents)
	if err != nil || c == nil {
		return 0, err
	}
	take, err := s.Wallet.TakeBack(ctx, c.userID, refundNo, func(tx *gorm.DB) (int64, []string, error) {
		refunds, err := s.Refunds.RefundsWithin(ctx, tx, orderNo)
		if err != nil {
			return 0, nil, fmt.Errorf("list refunds of %s: %w", orderNo, err)
		}
		t := c.shareOf(refunds, refundNo, refundCents)
		return t.share, t.refundNos, nil
	})
	if errors.Is(err, wallet.ErrInsufficientFunds) {
		// %v, not %w: the refusal must read as RechargeSpent alone.
		return 0, fmt.Errorf("%w: refund %s of %s: %v", ErrRechargeSpent, refundNo, orderNo, err)
	}
	if err != nil {
		return 0, fmt.Errorf("take back top-up of %s for %s: %w", orderNo, refundNo, err)
	}
	return take, nil
}

// CheckRefundable answers, before a refund of askedCents (0: everything
// not refunded yet) is recorded, whether the order can be refunded now.
// ErrNotFulfilledYet while its workflow may still fulfil it (a status from
// which it can still complete); ErrRefundedByWorkflow while its workflow
// refunds it (paid_unfulfilled, except a late payment's). A *SpentError
// (kind RechargeSpent) when the wallet no longer holds the part of the
// order's top-up the refund would take back; nil for orders without a credited top-up, for a refund number
// that already took its part, and for amounts the refund record will refuse
// anyway (more than is left).
func (s *Service) CheckRefundable(ctx context.Context, orderNo, refundNo string, askedCents int64) error {
	o, err := s.Orders.Get(ctx, orderNo)
	if err != nil {
		return err
	}
	switch o.Status {
	case contract.StatusPending, contract.StatusAwaitingPayment, contract.StatusPaid:
		// Orders only move forward (orders.SetStatus), and only these
		// reach completed: from any other status nothing is granted later.
		return fmt.Errorf("%w: order %s is %s; refund it once it has completed", ErrNotFulfilledYet, orderNo, o.Status)
	case contract.StatusPaidUnfulfilled:
		// A late payment's refund is not retried: an operator may refund it.
		if o.StatusReason != contract.ReasonPaidAfterClose {
			return fmt.Errorf("%w: order %s is %s (%s); retry or settle its automatic refund with the order workflow's resolve-refund signal",
				ErrRefundedByWorkflow, orderNo, o.Status, o.StatusReason)
		}
	}
	t, err := s.topUp(ctx, orderNo, refundNo, askedCents, o.AmountCents)
	if err != nil || t == nil {
		return err
	}
	if askedCents > t.total-t.others {
		return nil // more than is left: the refund record refuses it
	}
	if prior, err := s.Wallet.Entry(ctx, refundNo, wallet.KindReversal); err != nil || prior != nil {
		return err
	}
	balance, err := s.Wallet.Balance(ctx, t.userID)
	if err != nil {
		return err
	}
	need := t.share - t.taken
	if need <= balance {
		return nil
	}
	spent := &SpentError{OrderNo: orderNo, NeededCents: need, UnspentCents: min(balance, t.credited-t.taken)}
	// The largest refund whose take-back the balance covers:
	// floor(credit × (others + A) / total) ≤ taken + balance.
	if limit := (t.taken+balance+1)*t.total - 1; limit >= 0 {
		spent.RefundableCents = max(0, min(t.total-t.others, limit/t.credited-t.others))
	}
	return spent
}

// SpentError refuses a refund of a top-up whose balance was spent: the
// refund would take back NeededCents, the wallet holds UnspentCents of the
// top-up, and RefundableCents is the largest refund it still covers.
type SpentError struct {
	OrderNo         string
	NeededCents     int64
	UnspentCents    int64
	RefundableCents int64
}

func (e *SpentError) Error() string {
	return fmt.Sprintf("the top-up of %s has been spent: %d cents of it unspent, the refund would take back %d; at most %d cents can be refunded",
		e.OrderNo, e.UnspentCents, e.NeededCents, e.RefundableCents)
}

// Kind is RechargeSpent.
func (e *SpentError) Kind() contract.ErrorKind { return contract.ErrRechargeSpent }

// Is makes errors.Is(err, ErrRechargeSpent) hold.
func (e *SpentError) Is(target error) bool { return target == ErrRechargeSpent }

// topUpShare is what one refund of a top-up order takes back.
type topUpShare struct {
	userID    uint
	credited  int64    // the top-up credited to the wallet
	total     int64    // what was paid
	others    int64    // the order's other refunds, not failed
	share     int64    // the cumulative share of the credit, this refund included
	taken     int64    // what the order's refunds already took back
	refundNos []string // every refund of the order, this one included
}

// credited is an order's top-up as credited to the wallet.
type credited struct {
	userID   uint
	credited int64 // the top-up credited to the wallet
	total    int64 // what was paid
}

// credit reads an order's credited top-up, or nil when the order has none
// credited (never fulfilled, or none bought).
func (s *Service) credit(ctx context.Context, orderNo string, totalCents int64) (*credited, error) {
	o, err := s.Orders.Get(ctx, orderNo)
	if err != nil {
		return nil, err
	}
	sum := Summarise(o)
	if sum.RechargeCents == 0 || totalCents <= 0 {
		return nil, nil
	}
	entry, err := s.Wallet.Entry(ctx, orderNo, wallet.KindRecharge)
	if err != nil || entry == nil {
		return nil, err // never credited (not fulfilled): nothing to take back
	}
	if s.Refunds == nil {
		return nil, errors.New("fulfilment: no refund ledger wired")
	}
	return &credited{userID: o.UserID, credited: sum.RechargeCents, total: totalCents}, nil
}

// shareOf is refundNo's cumulative share of the credit (refundCents, 0 for
// everything not refunded yet) among the order's refunds of its kept
// payment (an extra payment's refund returns other money and counts not).
func (c *credited) shareOf(refunds []contract.Refund, refundNo string, refundCents int64) *topUpShare {
	t := &topUpShare{userID: c.userID, credited: c.credited, total: c.total, refundNos: []string{refundNo}}
	for _, r := range refunds {
		if r.RefundNo == refundNo || r.Kind == contract.RefundKindExtra {
			continue // an extra payment's refund returns other money
		}
		t.refundNos = append(t.refundNos, r.RefundNo)
		if r.Status != contract.RefundFailed {
			t.others += r.AmountCents
		}
	}
	if refundCents == 0 {
		refundCents = c.total - t.others
	}
	t.share = rewards.ProRata(c.credited, t.others+refundCents, c.total)
	return t
}

// topUp computes a refund's share of an order's top-up, or nil when the
// order has no top-up credited (never fulfilled, or none bought).
func (s *Service) topUp(ctx context.Context, orderNo, refundNo string, refundCents, totalCents int64) (*topUpShare, error) {
	c, err := s.credit(ctx, orderNo, totalCents)
	if err != nil || c == nil {
		return nil, err
	}
	refunds, err := s.Refunds.RefundsOf(ctx, orderNo)
	if err != nil {
		return nil, fmt.Errorf("list refunds of %s: %w", orderNo, err)
	}
	t := c.shareOf(refunds, refundNo, refundCents)
	if t.taken, err = s.Wallet.Reversed(ctx, t.refundNos); err != nil {
		return nil, err
	}
	return t, nil
}

// ReleaseTopUp gives back, for refundNo that failed, what the order's
// refunds took back of its top-up beyond the share its refunds that have
// not failed still need (their cumulative share, refundNo left out): the
// buyer must not lose both the money and the balance, and a refund that
// took nothing — another refund took its part for it — releases that part.
// The refunds are read and the wallet credited under the buyer's wallet
// lock, once per refund number; call it only once refundNo is recorded
// failed, so no take-back counts it again. It answers the cents given back.
func (s *Service) ReleaseTopUp(ctx context.Context, orderNo, refundNo string) (int64, error) {
	o, err := s.Orders.Get(ctx, orderNo)
	if err != nil {
		return 0, err
	}
	c, err := s.credit(ctx, orderNo, o.AmountCents)
	if err != nil || c == nil {
		return 0, err
	}
	back, err := s.Wallet.GiveBack(ctx, c.userID, refundNo, func(tx *gorm.DB) (int64, []string, error) {
		refunds, err := s.Refunds.RefundsWithin(ctx, tx, orderNo)
		if err != nil {
			return 0, nil, fmt.Errorf("list refunds of %s: %w", orderNo, err)
		}
		group := []string{refundNo}
		var needed int64
		total := c.total
		for _, r := range refunds {
			if r.RefundNo == refundNo {
				total = r.TotalCents
				continue
			}
			if r.Kind == contract.RefundKindExtra {
				continue // an extra payment's refund returns other money
			}
			group = append(group, r.RefundNo)
			if r.Status != contract.RefundFailed {
				needed += r.AmountCents
			}
		}
		return rewards.ProRata(c.credited, needed, max(total, 1)), group, nil
	})
	if err != nil {
		return 0, fmt.Errorf("give back top-up of %s for failed refund %s: %w", orderNo, refundNo, err)
	}
	return back, nil
}

// Reversed is what a refund took back.
type Reversed = contract.Reversed

// Reverse takes back points and membership for one refund, given
// everything refunded so far (refundedCents, this refund included) of what
// was paid: the cumulative share of the grant minus what earlier refunds
// took. When the whole order is refunded (full) it takes the rest of the
// grant and returns the stock of every line (goods, membership, top-up).
func (s *Service) Reverse(ctx context.Context, orderNo, refundNo string, refundedCents, totalCents int64, full bool) (*Reversed, error) {
	o, err := s.Orders.Get(ctx, orderNo)
	if err != nil {
		return nil, err
	}
	if full || totalCents <= 0 {
		refundedCents, totalCents = max(totalCents, 1), max(totalCents, 1)
	}
	r, err := s.Rewards.ReverseOrder(ctx, rewards.Reversal{OrderNo: orderNo, RefundNo: refundNo, UserID: o.UserID,
		RefundedCents: refundedCents, TotalCents: totalCents})
	if err != nil {
		return nil, err
	}
	out := &Reversed{Points: r.Points, MembershipDays: r.MembershipDays}
	// Every line took stock (goods, membership and top-up products all
	// have one), so a full refund gives every line back.
	if full && len(o.Items) > 0 {
		if err := s.Catalog.Restock(ctx, orderNo, o.Lines()); err != nil {
			return nil, err
		}
		out.Restocked = true
	}
	return out, nil
}
