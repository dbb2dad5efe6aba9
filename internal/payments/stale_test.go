package payments_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/testenv"
	"github.com/shopflow/orderpay/internal/payments"
	"github.com/shopflow/orderpay/internal/providers"
)

// StalePage pages through the reconciliation's payments by (created_at,
// id) on both databases: in order, without duplicates or gaps (also when
// many rows share a created_at and rows change status between pages),
// unpaid ones and closed ones within the grace included, paid ones, closed
// ones past the grace and recent ones excluded.
func TestStalePageKeysetCursor(t *testing.T) {
	for name, open := range map[string]func(testing.TB) (string, *gorm.DB){"postgres": testenv.Postgres, "sqlite": testenv.SQLite} {
		t.Run(name, func(t *testing.T) {
			_, db := open(t)
			testStalePage(t, db)
		})
	}
}

func testStalePage(t *testing.T, db *gorm.DB) {
	ctx := context.Background()
	native := &fakeGateway{channel: contract.ChannelWeChatNative}
	svc := payments.NewService(db, providers.MustRegistry(native))
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	cutoff := now.Add(-10 * time.Minute)
	grace := 30 * time.Minute

	var want []string
	row := func(no, status, channel string, created, expire time.Time, included bool) {
		t.Helper()
		p := payments.Payment{OrderNo: no, OutTradeNo: no, Attempt: 1, UserID: 7, Channel: channel, AmountCents: 100,
			Status: status, ExpireAt: expire, CreatedAt: created, UpdatedAt: created}
		require.NoError(t, db.Create(&p).Error)
		if included {
			want = append(want, no)
		}
	}
	// 30 unpaid attempts over 10 distinct created_at values (ties on the key's
	// first part), inserted newest first so that id order differs from time order.
	base := now.Add(-3 * time.Hour)
	for i := 29; i >= 0; i-- {
		created := base.Add(time.Duration(i/3) * 1500 * time.Microsecond)
		row(fmt.Sprintf("U%02d", i), payments.StatusUnpaid, contract.ChannelWeChatNative, created, now.Add(time.Hour), true)
	}
	row("PAID", payments.StatusPaid, contract.ChannelWeChatNative, base, now, false)
	row("CLOSED-IN-GRACE", payments.StatusClosed, contract.ChannelWeChatNative, base.Add(time.Minute), now.Add(-grace+time.Minute), true)
	row("CLOSED-OPEN", payments.StatusClosed, contract.ChannelWeChatNative, base.Add(2*time.Minute), now.Add(time.Hour), true)
	row("CLOSED-PAST-GRACE", payments.StatusClosed, contract.ChannelWeChatNative, base.Add(3*time.Minute), now.Add(-grace-time.Minute), false)
	row("RECENT", payments.StatusUnpaid, contract.ChannelWeChatNative, cutoff.Add(time.Second), now.Add(time.Hour), false)
	row("UNKNOWN-CH", payments.StatusUnpaid, "no_such_channel", base.Add(4*time.Minute), now.Add(time.Hour), true)

	in := contract.StalePageInput{CreatedBefore: cutoff, ClosedExpiringAfter: now.Add(-grace), Limit: 7}
	var got []contract.Stale
	var last *contract.StaleCursor
	for pages := 0; ; pages++ {
		require.Less(t, pages, 20, "paging does not end")
		page, err := svc.StalePage(ctx, in)
		require.NoError(t, err)
		got = append(got, page.Payments...)
		if pages == 0 {
			// A row of a later page is paid meanwhile: it drops out, the rest stay.
			require.NoError(t, db.Model(&payments.Payment{}).Where("out_trade_no = ?", "U25").Update("status", payments.StatusPaid).Error)
			want = remove(want, "U25")
		}
		if len(page.Payments) < in.Limit {
			break
		}
		require.NotNil(t, page.Next)
		if last != nil {
			require.True(t, page.Next.CreatedAt.After(last.CreatedAt) || (page.Next.CreatedAt.Equal(last.CreatedAt) && page.Next.ID > last.ID),
				"cursor moves forward")
		}
		last = page.Next
		in.After = page.Next
		// The cursor travels through the workflow's JSON between pages.
		b, err := json.Marshal(in)
		require.NoError(t, err)
		in = contract.StalePageInput{}
		require.NoError(t, json.Unmarshal(b, &in))
	}

	var nos []string
	seen := map[string]bool{}
	for _, p := range got {
		require.False(t, seen[p.OutTradeNo], "duplicate %s", p.OutTradeNo)
		seen[p.OutTradeNo] = true
		nos = append(nos, p.OutTradeNo)
	}
	require.ElementsMatch(t, want, nos)

	// Keyset order: created_at, then id.
	var order []string
	require.NoError(t, db.Model(&payments.Payment{}).Where("out_trade_no IN ?", nos).Order("created_at, id").Pluck("out_trade_no", &order).Error)
	require.Equal(t, order, nos)

	byNo := map[string]contract.Stale{}
	for _, p := range got {
		byNo[p.OutTradeNo] = p
	}
	require.Equal(t, "fake-"+contract.ChannelWeChatNative, byNo["U00"].Provider)
	require.Equal(t, contract.PaymentUnpaid, byNo["U00"].Status)
	require.Equal(t, contract.PaymentClosed, byNo["CLOSED-IN-GRACE"].Status)
	require.Equal(t, "unknown:no_such_channel", byNo["UNKNOWN-CH"].Provider)

	// Without a grace cut-off no closed attempt is listed.
	page, err := svc.StalePage(ctx, contract.StalePageInput{CreatedBefore: cutoff, Limit: 100})
	require.NoError(t, err)
	for _, p := range page.Payments {
		require.Equal(t, contract.PaymentUnpaid, p.Status, p.OutTradeNo)
	}
	require.Len(t, page.Payments, 30)
}

func remove(list []string, s string) []string {
	out := list[:0:0]
	for _, v := range list {
		if v != s {
			out = append(out, v)
		}
	}
	return out
}
