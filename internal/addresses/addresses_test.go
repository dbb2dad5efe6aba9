package addresses_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/addresses"
	"github.com/shopflow/orderpay/internal/devtools/testenv"
	"github.com/shopflow/orderpay/internal/users"
)

func ptr[T any](v T) *T { return &v }

func fields(name string) addresses.Fields {
	return addresses.Fields{Name: ptr(name), Phone: ptr("13800000000"), Region: ptr("上海"), Detail: ptr("南京路 1 号")}
}

func buyer(t *testing.T, db *gorm.DB, openid string) uint {
	t.Helper()
	u := users.User{OpenID: openid}
	require.NoError(t, db.Create(&u).Error)
	return u.ID
}

func defaults(t *testing.T, db *gorm.DB, userID uint) int64 {
	t.Helper()
	var n int64
	require.NoError(t, db.Model(&addresses.Address{}).Where("user_id = ? AND is_default = ?", userID, true).Count(&n).Error)
	return n
}

// Many requests making different addresses the default at once, and
// adding first addresses at once, still leave exactly one default, and the
// book never grows past its limit (PostgreSQL, where they really run in
// parallel).
func TestOneDefaultUnderConcurrency(t *testing.T) {
	_, db := testenv.Postgres(t)
	ctx := context.Background()
	svc := addresses.NewService(db)
	uid := buyer(t, db, "concurrent")

	var wg sync.WaitGroup
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := svc.Create(ctx, uid, fields(fmt.Sprintf("first-%d", i)))
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.EqualValues(t, 1, defaults(t, db, uid), "one default among addresses created at once")

	as, err := svc.List(ctx, uid)
	require.NoError(t, err)
	for _, a := range as {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := svc.Update(ctx, uid, a.ID, addresses.Fields{IsDefault: ptr(true)})
			assert.NoError(t, err)
		}()
	}
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := svc.Create(ctx, uid, fields(fmt.Sprintf("more-%d", i)))
			if err != nil {
				assert.ErrorIs(t, err, addresses.ErrBookFull)
			}
		}()
	}
	wg.Wait()
	assert.EqualValues(t, 1, defaults(t, db, uid), "one default after racing changes")
	var n int64
	require.NoError(t, db.Model(&addresses.Address{}).Where("user_id = ?", uid).Count(&n).Error)
	assert.EqualValues(t, addresses.MaxPerBuyer, n, "never past the limit")
}

// Another buyer's address is not found by any operation; a snapshot
// holds the address's content and id.
func TestAddressesAreTheBuyers(t *testing.T) {
	_, db := testenv.SQLite(t)
	ctx := context.Background()
	svc := addresses.NewService(db)
	alice, bob := buyer(t, db, "alice"), buyer(t, db, "bob")
	a, err := svc.Create(ctx, alice, fields("Alice"))
	require.NoError(t, err)
	_, err = svc.Get(ctx, bob, a.ID)
	require.ErrorIs(t, err, addresses.ErrNotFound)
	_, err = svc.Update(ctx, bob, a.ID, fields("Bob"))
	require.ErrorIs(t, err, addresses.ErrNotFound)
	require.ErrorIs(t, svc.Delete(ctx, bob, a.ID), addresses.ErrNotFound)
	_, err = svc.Snapshot(ctx, bob, a.ID)
	require.ErrorIs(t, err, addresses.ErrNotFound)
	snap, err := svc.Snapshot(ctx, alice, a.ID)
	require.NoError(t, err)
	assert.JSONEq(t, fmt.Sprintf(`{"address_id":%d,"name":"Alice","phone":"13800000000","region":"上海","detail":"南京路 1 号"}`, a.ID), string(snap))
}
