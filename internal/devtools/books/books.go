// Package books proves conservation of money: it compares the shop's
// records (orders, payments, extra payments, refunds, the wallet ledger,
// the points and membership ledgers, stock deductions and returns) with the
// providers' records (the sandbox's books, read through GET /sandbox/books)
// and lists every discrepancy with the order it concerns.
//
// The rules, per order:
//   - captured − refunded at the providers (plus wallet debits − wallet
//     refunds for balance orders) equals what the shop kept;
//   - the shop keeps money only for completed or partially refunded orders,
//     exactly their amount minus their refunds (nothing for any other status);
//   - every refund the shop recorded as succeeded is at the provider with
//     the same amount, and the provider knows no refund the shop does not;
//   - every captured payment other than the one the order kept is an
//     extra payment, refunded in full through its own channel;
//   - points, membership days and wallet top-up match the money kept: the
//     grant minus the cumulative take-back equals grant − floor(grant ×
//     refunded / amount), the whole grant after a full refund;
//   - stock is deducted only for kept orders (every line: goods, membership
//     and top-up products all have a stock), and returned only after a full
//     refund; a reservation taken at placement is held only while the order
//     can be paid, and taken only with the deduction; per product, the
//     stock moved equals the units kept plus the units still reserved;
//   - every wallet balance is the sum of its ledger entries.
//
// A refund still processing at a provider (or a shop refund still pending)
// is money in flight: with Options.AllowInFlight it is reported in
// Report.InFlight, not as a discrepancy, so a caller can wait for it.
package books

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/sandbox"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payments"
	"github.com/shopflow/orderpay/internal/rewards"
	"github.com/shopflow/orderpay/internal/wallet"
)

// Options shape a check.
type Options struct {
	// PointsPerYuan is the shop's points rate (POINTS_PER_YUAN); the
	// checker recomputes every order's points grant with it.
	PointsPerYuan int64
	// InitialStock is each product's stock before any order (product id →
	// units); products not listed are not checked at product level.
	InitialStock map[uint]int64
	// AllowInFlight reports money still moving (a refund processing at a
	// provider or pending at the shop, an order still being paid or
	// fulfilled) in Report.InFlight instead of Report.Discrepancies.
	AllowInFlight bool
}

// Discrepancy is one rule the books break, about one order (or product,
// or wallet, when OrderNo is empty).
type Discrepancy struct {
	OrderNo string `json:"order_no,omitempty"`
	What    string `json:"what"`
}

func (d Discrepancy) String() string {
	if d.OrderNo == "" {
		return d.What
	}
	return "order " + d.OrderNo + ": " + d.What
}

// Report is the outcome of a check.
type Report struct {
	Orders        int           // orders checked
	Payments      int           // payments captured at the providers
	Refunds       int           // refunds at the providers
	Discrepancies []Discrepancy // broken rules
	InFlight      []Discrepancy // money still moving (only with AllowInFlight)
}

// String prints every discrepancy and in-flight item, one per line.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "books: %d orders, %d provider payments, %d provider refunds: %d discrepancies, %d in flight\n",
		r.Orders, r.Payments, r.Refunds, len(r.Discrepancies), len(r.InFlight))
	for _, d := range r.Discrepancies {
		fmt.Fprintf(&b, "  DISCREPANCY %s\n", d)
	}
	for _, d := range r.InFlight {
		fmt.Fprintf(&b, "  in flight   %s\n", d)
	}
	return b.String()
}

// Fetch reads the providers' books from a sandbox's GET /sandbox/books.
func Fetch(ctx context.Context, hc *http.Client, sandboxURL string) (sandbox.Books, error) {
	var b sandbox.Books
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(sandboxURL, "/")+"/sandbox/books", nil)
	if err != nil {
		return b, fmt.Errorf("books: %w", err)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		return b, fmt.Errorf("books: fetch sandbox books: %w", err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return b, fmt.Errorf("books: read sandbox books: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return b, fmt.Errorf("books: sandbox books answered %d: %s", res.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return b, fmt.Errorf("books: decode sandbox books: %w", err)
	}
	return b, nil
}

// shop is everything the shop recorded, loaded once.
type shop struct {
	orders      []orders.Order
	payments    map[string][]payments.Payment      // by order
	tradeOrder  map[string]string                  // out_trade_no → order
	extras      map[string][]payments.ExtraPayment // by order
	refunds     map[string][]payments.Refund       // by order
	refundByNo  map[string]payments.Refund
	entries     []wallet.Entry
	entryByRef  map[string]wallet.Entry // ref + "|" + kind
	points      map[string][]rewards.PointsEntry
	grants      map[string]rewards.MembershipGrant
	revocations map[string][]rewards.MembershipRevocation
	deducted    map[string]bool
	returned    map[string]bool
	reserved    map[string]string // order number → reservation state
	products    []catalog.Product
	wallets     []wallet.Wallet
}

func load(ctx context.Context, db *gorm.DB) (*shop, error) {
	db = db.WithContext(ctx)
	s := &shop{
		payments: map[string][]payments.Payment{}, tradeOrder: map[string]string{},
		extras: map[string][]payments.ExtraPayment{}, refunds: map[string][]payments.Refund{},
		refundByNo: map[string]payments.Refund{}, entryByRef: map[string]wallet.Entry{},
		points: map[string][]rewards.PointsEntry{}, grants: map[string]rewards.MembershipGrant{},
		revocations: map[string][]rewards.MembershipRevocation{}, deducted: map[string]bool{}, returned: map[string]bool{},
		reserved: map[string]string{},
	}
	if err := db.Preload("Items").Order("order_no").Find(&s.orders).Error; err != nil {
		return nil, fmt.Errorf("books: load orders: %w", err)
	}
	var pays []payments.Payment
	if err := db.Order("order_no, attempt").Find(&pays).Error; err != nil {
		return nil, fmt.Errorf("books: load payments: %w", err)
	}
	for _, p := range pays {
		s.payments[p.OrderNo] = append(s.payments[p.OrderNo], p)
		s.tradeOrder[p.OutTradeNo] = p.OrderNo
	}
	var extras []payments.ExtraPayment
	if err := db.Find(&extras).Error; err != nil {
		return nil, fmt.Errorf("books: load extra payments: %w", err)
	}
	for _, e := range extras {
		s.extras[e.OrderNo] = append(s.extras[e.OrderNo], e)
	}
	var refunds []payments.Refund
	if err := db.Order("refund_no").Find(&refunds).Error; err != nil {
		return nil, fmt.Errorf("books: load refunds: %w", err)
	}
	for _, r := range refunds {
		s.refunds[r.OrderNo] = append(s.refunds[r.OrderNo], r)
		s.refundByNo[r.RefundNo] = r
	}
	if err := db.Order("id").Find(&s.entries).Error; err != nil {
		return nil, fmt.Errorf("books: load wallet entries: %w", err)
	}
	for _, e := range s.entries {
		s.entryByRef[e.Ref+"|"+e.Kind] = e
	}
	var pts []rewards.PointsEntry
	if err := db.Find(&pts).Error; err != nil {
		return nil, fmt.Errorf("books: load points: %w", err)
	}
	for _, p := range pts {
		s.points[p.OrderNo] = append(s.points[p.OrderNo], p)
	}
	var grants []rewards.MembershipGrant
	if err := db.Find(&grants).Error; err != nil {
		return nil, fmt.Errorf("books: load membership grants: %w", err)
	}
	for _, g := range grants {
		s.grants[g.OrderNo] = g
	}
	var revs []rewards.MembershipRevocation
	if err := db.Find(&revs).Error; err != nil {
		return nil, fmt.Errorf("books: load membership revocations: %w", err)
	}
	for _, r := range revs {
		s.revocations[r.OrderNo] = append(s.revocations[r.OrderNo], r)
	}
	var ded []catalog.StockDeduction
	if err := db.Find(&ded).Error; err != nil {
		return nil, fmt.Errorf("books: load stock deductions: %w", err)
	}
	for _, d := range ded {
		s.deducted[d.OrderNo] = true
	}
	var ret []catalog.StockReturn
	if err := db.Find(&ret).Error; err != nil {
		return nil, fmt.Errorf("books: load stock returns: %w", err)
	}
	for _, r := range ret {
		s.returned[r.OrderNo] = true
	}
	var res []catalog.StockReservation
	if err := db.Find(&res).Error; err != nil {
		return nil, fmt.Errorf("books: load stock reservations: %w", err)
	}
	for _, r := range res {
		s.reserved[r.OrderNo] = r.State
	}
	if err := db.Order("id").Find(&s.products).Error; err != nil {
		return nil, fmt.Errorf("books: load products: %w", err)
	}
	if err := db.Find(&s.wallets).Error; err != nil {
		return nil, fmt.Errorf("books: load wallets: %w", err)
	}
	return s, nil
}

// checker accumulates a report.
type checker struct {
	opt Options
	rep *Report
}

func (c *checker) bad(orderNo, format string, args ...any) {
	c.rep.Discrepancies = append(c.rep.Discrepancies, Discrepancy{OrderNo: orderNo, What: fmt.Sprintf(format, args...)})
}

// moving reports money in flight, or a discrepancy when the caller does
// not allow any.
func (c *checker) moving(orderNo, format string, args ...any) {
	d := Discrepancy{OrderNo: orderNo, What: fmt.Sprintf(format, args...)}
	if c.opt.AllowInFlight {
		c.rep.InFlight = append(c.rep.InFlight, d)
		return
	}
	d.What = "still in flight: " + d.What
	c.rep.Discrepancies = append(c.rep.Discrepancies, d)
}

// Check compares the shop's database with the providers' books.
func Check(ctx context.Context, db *gorm.DB, b sandbox.Books, opt Options) (*Report, error) {
	s, err := load(ctx, db)
	if err != nil {
		return nil, err
	}
	c := &checker{opt: opt, rep: &Report{Orders: len(s.orders), Payments: len(b.Payments), Refunds: len(b.Refunds)}}

	provPays := map[string][]sandbox.BookPayment{} // by order
	for _, p := range b.Payments {
		orderNo, ok := s.tradeOrder[p.OutTradeNo]
		if !ok {
			c.bad("", "%s captured %d cents for out_trade_no %s (transaction %s) the shop never opened", p.Provider, p.Cents, p.OutTradeNo, p.TransactionID)
			continue
		}
		provPays[orderNo] = append(provPays[orderNo], p)
	}
	provRefunds := map[string][]sandbox.BookRefund{} // by order
	seenRefund := map[string]bool{}
	for _, r := range b.Refunds {
		orderNo, ok := s.tradeOrder[r.OutTradeNo]
		if !ok {
			c.bad("", "%s refund %s of %d cents for out_trade_no %s the shop never opened", r.Provider, r.OutRefundNo, r.Cents, r.OutTradeNo)
			continue
		}
		provRefunds[orderNo] = append(provRefunds[orderNo], r)
		seenRefund[r.OutRefundNo] = true
		if sr, ok := s.refundByNo[r.OutRefundNo]; !ok {
			c.bad(orderNo, "%s refunded %d cents as %s (%s), the shop has no such refund", r.Provider, r.Cents, r.OutRefundNo, r.Status)
		} else if sr.OrderNo != orderNo {
			c.bad(orderNo, "%s refund %s is recorded by the shop on order %s", r.Provider, r.OutRefundNo, sr.OrderNo)
		}
	}

	for i := range s.orders {
		c.order(s, &s.orders[i], provPays[s.orders[i].OrderNo], provRefunds[s.orders[i].OrderNo], seenRefund)
	}
	c.stock(s)
	c.wallets(s)
	sort.SliceStable(c.rep.Discrepancies, func(i, j int) bool { return c.rep.Discrepancies[i].OrderNo < c.rep.Discrepancies[j].OrderNo })
	return c.rep, nil
}

// keeps reports whether an order's status says the shop keeps (part of)
// its money.
func keeps(status string) bool {
	return status == orders.StatusCompleted || status == orders.StatusPartiallyRefunded
}

// settled reports whether an order's status is final as far as money goes.
func settled(status string) bool {
	switch status {
	case orders.StatusCompleted, orders.StatusPartiallyRefunded, orders.StatusRefunded,
		orders.StatusClosed, orders.StatusCancelled:
		return true
	}
	return false
}

func (c *checker) order(s *shop, o *orders.Order, pays []sandbox.BookPayment, provRefunds []sandbox.BookRefund, _ map[string]bool) {
	no := o.OrderNo
	if !settled(o.Status) {
		c.moving(no, "order is %s (%s)", o.Status, o.StatusReason)
	}

	// What the buyers paid: provider captures plus wallet debits.
	var captured, refundedOK, refundedMoving int64
	for _, p := range pays {
		captured += p.Cents
		if p.Cents != o.AmountCents {
			c.bad(no, "%s captured %d cents for %s, the order is %d", p.Provider, p.Cents, p.OutTradeNo, o.AmountCents)
		}
	}
	var walletPaid int64
	for _, p := range s.payments[no] {
		if e, ok := s.entryByRef[p.OutTradeNo+"|"+wallet.KindPayment]; ok {
			walletPaid += -e.AmountCents
		}
	}
	captured += walletPaid
	for _, r := range provRefunds {
		switch r.Status {
		case sandbox.BookRefundSucceeded:
			refundedOK += r.Cents
		case sandbox.BookRefundProcessing:
			refundedMoving += r.Cents
		}
	}

	// The shop's refunds, against the providers' (and the wallet's).
	var shopOrderRefunded, shopOrderMoving int64
	provByNo := map[string]sandbox.BookRefund{}
	for _, r := range provRefunds {
		provByNo[r.OutRefundNo] = r
	}
	for _, r := range s.refunds[no] {
		if r.Kind != contract.RefundKindExtra { // order and provider refunds return the kept payment
			switch r.Status {
			case payments.RefundSucceeded:
				shopOrderRefunded += r.AmountCents
			case payments.RefundFailed:
			default:
				shopOrderMoving += r.AmountCents
			}
		}
		if r.Channel == contract.ChannelBalance {
			e, ok := s.entryByRef[r.RefundNo+"|"+wallet.KindRefund]
			switch {
			case ok:
				refundedOK += e.AmountCents
				if r.Status != payments.RefundSucceeded {
					c.moving(no, "wallet refund %s credited %d cents, the shop's refund is %s", r.RefundNo, e.AmountCents, r.Status)
				} else if e.AmountCents != r.AmountCents {
					c.bad(no, "wallet refund %s credited %d cents, the shop's refund says %d", r.RefundNo, e.AmountCents, r.AmountCents)
				}
			case r.Status == payments.RefundSucceeded:
				c.bad(no, "refund %s of %d cents succeeded at the shop, the wallet has no credit for it", r.RefundNo, r.AmountCents)
			case r.Status != payments.RefundFailed:
				c.moving(no, "wallet refund %s of %d cents is %s", r.RefundNo, r.AmountCents, r.Status)
			}
			continue
		}
		if r.Channel == contract.ChannelFree {
			c.bad(no, "refund %s of %d cents of a free order", r.RefundNo, r.AmountCents)
			continue
		}
		p, ok := provByNo[r.RefundNo]
		switch {
		case !ok && r.Status == payments.RefundSucceeded:
			c.bad(no, "refund %s of %d cents succeeded at the shop, the provider never refunded it", r.RefundNo, r.AmountCents)
		case !ok && r.Status != payments.RefundFailed:
			c.moving(no, "refund %s of %d cents is %s at the shop and unknown to the provider", r.RefundNo, r.AmountCents, r.Status)
		case !ok:
		case p.Cents != r.AmountCents:
			c.bad(no, "refund %s: the provider refunded %d cents, the shop recorded %d", r.RefundNo, p.Cents, r.AmountCents)
		case p.OutTradeNo != r.OutTradeNo:
			c.bad(no, "refund %s: the provider refunded out_trade_no %s, the shop recorded %s", r.RefundNo, p.OutTradeNo, r.OutTradeNo)
		case p.Status == sandbox.BookRefundProcessing || r.Status == payments.RefundProcessing || r.Status == "pending":
			if p.Status == sandbox.BookRefundFailed || (r.Status == payments.RefundSucceeded && p.Status != sandbox.BookRefundProcessing) {
				c.bad(no, "refund %s is %s at the provider and %s at the shop", r.RefundNo, p.Status, r.Status)
			} else {
				c.moving(no, "refund %s of %d cents is %s at the provider and %s at the shop", r.RefundNo, r.AmountCents, p.Status, r.Status)
			}
		case (p.Status == sandbox.BookRefundSucceeded) != (r.Status == payments.RefundSucceeded):
			c.bad(no, "refund %s is %s at the provider and %s at the shop", r.RefundNo, p.Status, r.Status)
		}
	}

	// Conservation: what the shop holds for the order against what it
	// says it kept.
	var want int64
	if keeps(o.Status) {
		want = o.AmountCents - shopOrderRefunded
	}
	held := captured - refundedOK
	switch {
	case refundedMoving > 0 || shopOrderMoving > 0:
		if held-refundedMoving != want && held != want {
			c.moving(no, "the providers hold %d cents (%d of it being refunded), the shop keeps %d (status %s)", held, refundedMoving, want, o.Status)
		} else if held != want {
			c.moving(no, "%d cents being refunded", refundedMoving)
		}
	case held != want:
		if settled(o.Status) {
			c.bad(no, "the buyer paid %d cents and got %d back: the providers hold %d, the shop keeps %d (status %s, amount %d, refunded %d)",
				captured, refundedOK, held, want, o.Status, o.AmountCents, shopOrderRefunded)
		}
	}
	switch {
	case shopOrderRefunded > o.AmountCents:
		c.bad(no, "the shop refunded %d cents of an order of %d", shopOrderRefunded, o.AmountCents)
	case o.Status == orders.StatusRefunded && shopOrderRefunded != o.AmountCents && o.AmountCents > 0:
		c.bad(no, "refunded, but the refunds add up to %d of %d cents", shopOrderRefunded, o.AmountCents)
	case o.Status == orders.StatusPartiallyRefunded && (shopOrderRefunded <= 0 || shopOrderRefunded >= o.AmountCents) && shopOrderMoving == 0:
		c.bad(no, "partially refunded, but the refunds add up to %d of %d cents", shopOrderRefunded, o.AmountCents)
	}

	c.extras(s, o, pays)
	c.entitlements(s, o, shopOrderRefunded)
}

// extras checks that every captured payment but the kept one is recorded
// as an extra payment and refunded in full through its own channel.
func (c *checker) extras(s *shop, o *orders.Order, pays []sandbox.BookPayment) {
	no := o.OrderNo
	var kept *payments.Payment
	for i := range s.payments[no] {
		p := &s.payments[no][i]
		if p.Status == contract.PaymentPaid {
			if kept != nil {
				c.bad(no, "two payments kept: %s and %s", kept.OutTradeNo, p.OutTradeNo)
			}
			kept = p
		}
	}
	if keeps(o.Status) && kept == nil && o.AmountCents > 0 {
		c.bad(no, "status %s but no payment is marked paid", o.Status)
	}
	extraByTxn := map[string]payments.ExtraPayment{}
	for _, e := range s.extras[no] {
		extraByTxn[e.TransactionID] = e
	}
	for _, p := range pays {
		if kept != nil && kept.TransactionID != nil && *kept.TransactionID == p.TransactionID && kept.OutTradeNo == p.OutTradeNo {
			continue
		}
		if kept == nil {
			continue // an order that kept nothing must hold nothing: conservation covers it
		}
		e, ok := extraByTxn[p.TransactionID]
		if !ok {
			c.bad(no, "%s captured %d cents for %s (transaction %s) beside the kept payment %s, not recorded as an extra payment",
				p.Provider, p.Cents, p.OutTradeNo, p.TransactionID, kept.OutTradeNo)
			continue
		}
		r, ok := s.refundByNo[e.RefundNo]
		switch {
		case !ok:
			c.bad(no, "extra payment %s (transaction %s) has no refund %s", p.OutTradeNo, p.TransactionID, e.RefundNo)
		case r.AmountCents != p.Cents:
			c.bad(no, "extra payment %s of %d cents is refunded %d", p.OutTradeNo, p.Cents, r.AmountCents)
		case r.Status == payments.RefundFailed:
			c.bad(no, "the refund %s of extra payment %s failed: %s", r.RefundNo, p.OutTradeNo, r.FailureReason)
		case r.Status != payments.RefundSucceeded:
			c.moving(no, "the refund %s of extra payment %s is %s", r.RefundNo, p.OutTradeNo, r.Status)
		}
	}
}

// proRata is floor(grant × refunded / total), refunded capped at total.
func proRata(grant, refunded, total int64) int64 {
	if grant <= 0 || refunded <= 0 || total <= 0 {
		return 0
	}
	if refunded >= total {
		return grant
	}
	q, r := grant/total, grant%total
	return q*refunded + r*refunded/total
}

// entitlements checks points, membership, top-up and stock of one order
// against the money it kept.
func (c *checker) entitlements(s *shop, o *orders.Order, refunded int64) {
	no := o.OrderNo
	var goods bool
	var pointsBase, recharge, days int64
	for _, it := range o.Items {
		switch it.Kind {
		case catalog.KindRecharge:
			recharge += it.SubtotalCents
			continue
		case catalog.KindMembership:
			days += int64(it.MembershipDays) * it.Quantity
		case catalog.KindGoods:
			goods = true
		}
		pointsBase += it.SubtotalCents
	}
	full := o.Status == orders.StatusRefunded

	// Points.
	var granted, taken int64
	var hasGrant bool
	for _, p := range s.points[no] {
		switch {
		case p.Reason == "order":
			granted, hasGrant = p.Points, true
		case strings.HasPrefix(p.Reason, "refund:"):
			taken += -p.Points
		default:
			c.bad(no, "points entry with unknown reason %q (%d)", p.Reason, p.Points)
		}
	}
	fulfilled := hasGrant || s.deducted[no] || s.grants[no].OrderNo != "" || s.entryByRef[no+"|"+wallet.KindRecharge].Ref != ""
	if keeps(o.Status) && !fulfilled && (goods || days > 0 || recharge > 0 || rewards.Points(pointsBase, c.opt.PointsPerYuan) > 0) {
		c.bad(no, "status %s but nothing was delivered (no points, membership, top-up or stock)", o.Status)
	}
	if fulfilled && !keeps(o.Status) && !full && settled(o.Status) {
		c.bad(no, "status %s but the order was delivered (points %d, stock deducted %v)", o.Status, granted, s.deducted[no])
	}
	if hasGrant {
		if want := rewards.Points(pointsBase, c.opt.PointsPerYuan); c.opt.PointsPerYuan > 0 && granted != want {
			c.bad(no, "granted %d points, %d cents of points-earning items earn %d", granted, pointsBase, want)
		}
		if want := c.takeBack(granted, refunded, o.AmountCents, full); taken != want {
			c.bad(no, "points: granted %d, taken back %d, refunds of %d of %d cents take back %d", granted, taken, refunded, o.AmountCents, want)
		}
	} else if taken != 0 {
		c.bad(no, "points: %d taken back, none granted", taken)
	}

	// Membership.
	if g, ok := s.grants[no]; ok {
		if int64(g.Days) != days {
			c.bad(no, "membership: granted %d days, the order bought %d", g.Days, days)
		}
		var revoked int64
		for _, r := range s.revocations[no] {
			revoked += int64(r.Days)
		}
		if want := c.takeBack(int64(g.Days), refunded, o.AmountCents, full); revoked != want {
			c.bad(no, "membership: granted %d days, revoked %d, refunds of %d of %d cents revoke %d", g.Days, revoked, refunded, o.AmountCents, want)
		}
	} else if len(s.revocations[no]) > 0 {
		c.bad(no, "membership revoked, none granted")
	} else if days > 0 && keeps(o.Status) {
		c.bad(no, "membership: the order bought %d days, none granted", days)
	}

	// Wallet top-up.
	if e, ok := s.entryByRef[no+"|"+wallet.KindRecharge]; ok {
		if e.AmountCents != recharge {
			c.bad(no, "top-up: credited %d cents, the order bought %d", e.AmountCents, recharge)
		}
		var reclaimed int64
		for _, r := range s.refunds[no] {
			if x, ok := s.entryByRef[r.RefundNo+"|"+wallet.KindReversal]; ok {
				reclaimed += -x.AmountCents
			}
			if x, ok := s.entryByRef[r.RefundNo+"|"+wallet.KindRestore]; ok {
				reclaimed -= x.AmountCents
			}
		}
		if want := c.takeBack(recharge, refunded, o.AmountCents, full); reclaimed != want {
			c.bad(no, "top-up: credited %d cents, taken back %d, refunds of %d of %d cents take back %d", recharge, reclaimed, refunded, o.AmountCents, want)
		}
	} else if recharge > 0 && keeps(o.Status) {
		c.bad(no, "top-up: the order bought %d cents of balance, none credited", recharge)
	}

	// Stock.
	// Every line takes stock (goods, membership and top-up products all
	// have a stock), so a full refund returns every line.
	switch {
	case s.deducted[no] && !keeps(o.Status) && !full && settled(o.Status):
		c.bad(no, "stock deducted for a %s order", o.Status)
	case !s.deducted[no] && len(o.Items) > 0 && keeps(o.Status):
		c.bad(no, "goods kept (status %s) but no stock deducted", o.Status)
	}
	switch {
	case s.returned[no] && !s.deducted[no]:
		c.bad(no, "stock returned but never deducted")
	case s.returned[no] && !full:
		c.bad(no, "stock returned for a %s order (only a full refund returns it)", o.Status)
	case !s.returned[no] && s.deducted[no] && full:
		c.bad(no, "refunded in full but its stock was never returned")
	}
	// A reservation is held only while the order can still be paid; it
	// is taken exactly when the stock is deducted.
	switch r := s.reserved[no]; {
	case r == catalog.ReservationHeld && settled(o.Status):
		c.bad(no, "stock still reserved for a %s order", o.Status)
	case r == catalog.ReservationTaken && !s.deducted[no]:
		c.bad(no, "reservation taken but no stock deducted")
	}
}

// takeBack is what refunds of refunded of total cents take back of grant:
// all of it after a full refund.
func (c *checker) takeBack(grant, refunded, total int64, full bool) int64 {
	if full {
		return grant
	}
	return proRata(grant, refunded, total)
}

// stock checks, per product, that the stock moved equals the goods kept
// plus the units still reserved by orders that can yet be paid.
func (c *checker) stock(s *shop) {
	if len(c.opt.InitialStock) == 0 {
		return
	}
	held := map[uint]int64{}
	for _, o := range s.orders {
		holds := s.deducted[o.OrderNo] && !s.returned[o.OrderNo]
		if !holds && s.reserved[o.OrderNo] != catalog.ReservationHeld {
			continue
		}
		for _, it := range o.Items {
			held[it.ProductID] += it.Quantity
		}
	}
	for _, p := range s.products {
		initial, ok := c.opt.InitialStock[p.ID]
		if !ok {
			continue
		}
		if initial-p.Stock != held[p.ID] {
			c.bad("", "product %d (%s): stock %d of %d, but the orders that kept or reserve it hold %d units", p.ID, p.Name, p.Stock, initial, held[p.ID])
		}
	}
}

// wallets checks every balance against its ledger.
func (c *checker) wallets(s *shop) {
	sum := map[uint]int64{}
	for _, e := range s.entries {
		sum[e.UserID] += e.AmountCents
	}
	for _, w := range s.wallets {
		if w.BalanceCents != sum[w.UserID] {
			c.bad("", "wallet of buyer %d: balance %d cents, its ledger adds up to %d", w.UserID, w.BalanceCents, sum[w.UserID])
		}
		delete(sum, w.UserID)
	}
	for u, v := range sum {
		if v != 0 {
			c.bad("", "buyer %d has wallet entries adding up to %d cents but no wallet", u, v)
		}
	}
}
