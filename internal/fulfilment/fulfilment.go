// Package fulfilment is the one place that decides what a paid order
// delivers and what a refund takes back, by what the order bought —
// whatever channel paid for it:
//
//   - goods: stock (taken before fulfilment, returned on a full refund) and points;
//   - membership: membership time (extended from the current end) and points;
//   - recharge: the amount credited to the buyer's wallet, no points.
//
// Every grant and every reversal is keyed (order_no, refund_no), so retries
// change nothing.
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
)

// ErrRechargeSpent means a top-up cannot be refunded because the buyer has
// already spent the balance it added.
var ErrRechargeSpent = contract.Kinded(contract.ErrRechargeSpent, "the top-up has been spent")

// Service fulfils orders and reverses refunds.
type Service struct {
	Orders  *orders.Service
	Catalog *catalog.Service
	Rewards *rewards.Service
	Wallet  *wallet.Service
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
// money leaves, in proportion refund/total; ErrRechargeSpent if the balance
// no longer holds it.
func (s *Service) ReclaimTopUp(ctx context.Context, orderNo, refundNo string, refundCents, totalCents int64) (int64, error) {
	o, err := s.Orders.Get(ctx, orderNo)
	if err != nil {
		return 0, err
	}
	sum := Summarise(o)
	if sum.RechargeCents == 0 || totalCents <= 0 {
		return 0, nil
	}
	credited, err := s.Wallet.Entry(ctx, orderNo, wallet.KindRecharge)
	if err != nil || credited == nil {
		return 0, err // never credited (not fulfilled): nothing to take back
	}
	take := sum.RechargeCents * refundCents / totalCents
	if take <= 0 {
		return 0, nil
	}
	_, err = s.Wallet.Debit(ctx, o.UserID, refundNo, wallet.KindReversal, take)
	if errors.Is(err, wallet.ErrInsufficientFunds) {
		return 0, fmt.Errorf("%w: %w", ErrRechargeSpent, err)
	}
	return take, err
}

// RestoreTopUp gives back what ReclaimTopUp took for refundNo, because that
// refund failed at the provider and the buyer must not lose both the money
// and the balance. It credits the wallet once per refund number (nothing
// when nothing was taken) and answers the cents given back.
func (s *Service) RestoreTopUp(ctx context.Context, refundNo string) (int64, error) {
	taken, err := s.Wallet.Entry(ctx, refundNo, wallet.KindReversal)
	if err != nil || taken == nil {
		return 0, err
	}
	back, err := s.Wallet.Credit(ctx, taken.UserID, refundNo, wallet.KindRestore, -taken.AmountCents)
	if err != nil {
		return 0, fmt.Errorf("restore top-up of refund %s: %w", refundNo, err)
	}
	return back.AmountCents, nil
}

// Reversed is what a refund took back.
type Reversed = contract.Reversed

// Reverse takes back points and membership in proportion to a refund and,
// when the whole order is refunded, returns the goods' stock.
func (s *Service) Reverse(ctx context.Context, orderNo, refundNo string, refundedCents, totalCents int64, full bool) (*Reversed, error) {
	o, err := s.Orders.Get(ctx, orderNo)
	if err != nil {
		return nil, err
	}
	sum := Summarise(o)
	num, den := refundedCents, totalCents
	if full || den == 0 {
		num, den = 1, 1
	}
	r, err := s.Rewards.ReverseOrder(ctx, rewards.Reversal{OrderNo: orderNo, RefundNo: refundNo, UserID: o.UserID, Num: num, Den: den})
	if err != nil {
		return nil, err
	}
	out := &Reversed{Points: r.Points, MembershipDays: r.MembershipDays}
	if full && len(sum.GoodsLines) > 0 {
		if err := s.Catalog.Restock(ctx, orderNo, sum.GoodsLines); err != nil {
			return nil, err
		}
		out.Restocked = true
	}
	return out, nil
}
