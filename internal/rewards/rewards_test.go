package rewards_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/devtools/testenv"
	"github.com/shopflow/orderpay/internal/rewards"
	"github.com/shopflow/orderpay/internal/users"
)

var t0 = time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)

type fixture struct {
	db  *gorm.DB
	svc *rewards.Service
	now time.Time
	mu  sync.Mutex
}

func setup(t *testing.T) *fixture {
	t.Helper()
	_, db := testenv.Postgres(t)
	f := &fixture{db: db, svc: rewards.NewService(db), now: t0}
	rewards.SetClock(f.svc, func() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now })
	return f
}

func (f *fixture) setNow(at time.Time) { f.mu.Lock(); f.now = at; f.mu.Unlock() }

func (f *fixture) user(t *testing.T, openID string) users.User {
	t.Helper()
	u := users.User{OpenID: openID}
	require.NoError(t, f.db.Create(&u).Error)
	return u
}

func (f *fixture) reload(t *testing.T, id uint) users.User {
	t.Helper()
	var u users.User
	require.NoError(t, f.db.Take(&u, id).Error)
	return u
}

func (f *fixture) count(t *testing.T, model any) int64 {
	t.Helper()
	var n int64
	require.NoError(t, f.db.Model(model).Count(&n).Error)
	return n
}

func TestPoints(t *testing.T) {
	assert.Equal(t, int64(136), rewards.Points(13600, 1))
	assert.Equal(t, int64(272), rewards.Points(13699, 2), "whole yuan only")
	assert.Zero(t, rewards.Points(99, 10))
	assert.Zero(t, rewards.Points(13600, 0))
}

func TestGrantPointsOncePerOrder(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	u := f.user(t, "openid-1")
	g := rewards.Grant{OrderNo: "ORDER1", UserID: u.ID, AmountCents: 13600, PointsPerYuan: 1}

	out, err := f.svc.GrantOrder(ctx, g)
	require.NoError(t, err)
	assert.Equal(t, int64(136), out.Points)
	assert.Nil(t, out.MemberUntil)

	again, err := f.svc.GrantOrder(ctx, g)
	require.NoError(t, err)
	assert.Equal(t, int64(136), again.Points, "reports what was granted")
	assert.Equal(t, int64(136), f.reload(t, u.ID).Points, "granted once")
	assert.Equal(t, int64(1), f.count(t, &rewards.PointsEntry{}))

	_, err = f.svc.GrantOrder(ctx, rewards.Grant{OrderNo: "ORDER2", UserID: u.ID, AmountCents: 5000, PointsPerYuan: 2})
	require.NoError(t, err)
	assert.Equal(t, int64(236), f.reload(t, u.ID).Points)
}

func TestGrantNoPoints(t *testing.T) {
	f := setup(t)
	u := f.user(t, "openid-1")
	out, err := f.svc.GrantOrder(context.Background(), rewards.Grant{OrderNo: "ORDER1", UserID: u.ID, AmountCents: 13600})
	require.NoError(t, err)
	assert.Zero(t, out.Points)
	assert.Zero(t, f.count(t, &rewards.PointsEntry{}))
}

func TestGrantMembershipOncePerOrder(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	u := f.user(t, "openid-1")
	g := rewards.Grant{OrderNo: "ORDER1", UserID: u.ID, AmountCents: 1990, PointsPerYuan: 1, MembershipDays: 30}

	out, err := f.svc.GrantOrder(ctx, g)
	require.NoError(t, err)
	want := t0.AddDate(0, 0, 30)
	require.NotNil(t, out.MemberUntil)
	assert.True(t, want.Equal(*out.MemberUntil), "until %v", out.MemberUntil)
	assert.Equal(t, int64(19), out.Points)

	f.setNow(t0.Add(time.Hour))
	again, err := f.svc.GrantOrder(ctx, g)
	require.NoError(t, err)
	require.NotNil(t, again.MemberUntil)
	assert.True(t, want.Equal(*again.MemberUntil))

	got := f.reload(t, u.ID)
	require.NotNil(t, got.MemberUntil)
	assert.True(t, want.Equal(*got.MemberUntil), "extended once: %v", got.MemberUntil)
	assert.Equal(t, int64(1), got.MembershipVersion)
	assert.Equal(t, int64(19), got.Points)
	assert.Equal(t, int64(1), f.count(t, &rewards.MembershipGrant{}))
}

func TestSecondMembershipExtendsFromCurrentEnd(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	u := f.user(t, "openid-1")

	_, err := f.svc.GrantOrder(ctx, rewards.Grant{OrderNo: "ORDER1", UserID: u.ID, MembershipDays: 30})
	require.NoError(t, err)

	f.setNow(t0.AddDate(0, 0, 10)) // ten days into the first month
	out, err := f.svc.GrantOrder(ctx, rewards.Grant{OrderNo: "ORDER2", UserID: u.ID, MembershipDays: 30})
	require.NoError(t, err)
	want := t0.AddDate(0, 0, 60)
	require.NotNil(t, out.MemberUntil)
	assert.True(t, want.Equal(*out.MemberUntil), "until %v, want %v (not now+30d)", out.MemberUntil, want)

	var second rewards.MembershipGrant
	require.NoError(t, f.db.Where("order_no = ?", "ORDER2").Take(&second).Error)
	assert.True(t, t0.AddDate(0, 0, 30).Equal(second.StartsAt), "starts where the first ends")
}

func TestExpiredMembershipRestartsFromNow(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	u := f.user(t, "openid-1")
	_, err := f.svc.GrantOrder(ctx, rewards.Grant{OrderNo: "ORDER1", UserID: u.ID, MembershipDays: 30})
	require.NoError(t, err)

	later := t0.AddDate(0, 0, 45)
	f.setNow(later)
	out, err := f.svc.GrantOrder(ctx, rewards.Grant{OrderNo: "ORDER2", UserID: u.ID, MembershipDays: 30})
	require.NoError(t, err)
	assert.True(t, later.AddDate(0, 0, 30).Equal(*out.MemberUntil), "until %v", out.MemberUntil)
}

func TestConcurrentMembershipGrantsAllCount(t *testing.T) {
	// With points, the points update locks the user row first; without, only
	// the membership version guards the read-modify-write. Test both.
	t.Run("with points", func(t *testing.T) { concurrentMembershipGrants(t, 1) })
	t.Run("membership only", func(t *testing.T) { concurrentMembershipGrants(t, 0) })
}

func concurrentMembershipGrants(t *testing.T, perYuan int64) {
	f := setup(t)
	ctx := context.Background()
	u := f.user(t, "openid-1")

	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	gate := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-gate
			g := rewards.Grant{OrderNo: fmt.Sprintf("ORDER%d", i), UserID: u.ID, AmountCents: 1990, PointsPerYuan: perYuan, MembershipDays: 30}
			// The activity is retried on errors (e.g. "too much contention"); do the same.
			for attempt := 0; attempt < 20; attempt++ {
				if _, errs[i] = f.svc.GrantOrder(ctx, g); errs[i] == nil {
					return
				}
			}
		}(i)
	}
	close(gate)
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}

	got := f.reload(t, u.ID)
	require.NotNil(t, got.MemberUntil)
	want := t0.AddDate(0, 0, 30*n)
	assert.True(t, want.Equal(*got.MemberUntil), "no grant lost: until %v, want %v", got.MemberUntil, want)
	assert.Equal(t, int64(n)*19*perYuan, got.Points)
	assert.Equal(t, int64(n), f.count(t, &rewards.MembershipGrant{}))
}
