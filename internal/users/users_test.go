package users_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/devtools/testenv"
	"github.com/shopflow/orderpay/internal/users"
)

// fakeExchanger maps login codes to sessions and counts its calls.
type fakeExchanger struct {
	mu       sync.Mutex
	sessions map[string]users.Session
	calls    int
}

var errBadCode = errors.New("code2session: invalid code")

func (e *fakeExchanger) Exchange(_ context.Context, code string) (*users.Session, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls++
	s, ok := e.sessions[code]
	if !ok {
		return nil, errBadCode
	}
	return &s, nil
}

type fixture struct {
	db  *gorm.DB
	svc *users.Service
	ex  *fakeExchanger
}

func setup(t *testing.T) *fixture {
	t.Helper()
	_, db := testenv.Postgres(t)
	ex := &fakeExchanger{sessions: map[string]users.Session{
		"code-a1": {OpenID: "openid-a", UnionID: "union-a"},
		"code-a2": {OpenID: "openid-a", UnionID: "union-a"},
		"code-b":  {OpenID: "openid-b"},
	}}
	return &fixture{db: db, svc: users.NewService(db, ex, 24*time.Hour), ex: ex}
}

func (f *fixture) count(t *testing.T, model any) int64 {
	t.Helper()
	var n int64
	require.NoError(t, f.db.Model(model).Count(&n).Error)
	return n
}

func TestLoginWithCodeUpsertsOneUserPerOpenID(t *testing.T) {
	f := setup(t)
	ctx := context.Background()

	first, err := f.svc.LoginWithCode(ctx, "code-a1")
	require.NoError(t, err)
	assert.NotZero(t, first.User.ID)
	assert.Equal(t, "openid-a", first.User.OpenID)
	assert.Equal(t, "union-a", first.User.UnionID)
	assert.NotEmpty(t, first.Token)
	assert.WithinDuration(t, time.Now().Add(24*time.Hour), first.ExpiresAt, 5*time.Second)

	second, err := f.svc.LoginWithCode(ctx, "code-a2")
	require.NoError(t, err)
	assert.Equal(t, first.User.ID, second.User.ID, "same openid, same user")
	assert.NotEqual(t, first.Token, second.Token, "each login gets its own token")

	other, err := f.svc.LoginWithCode(ctx, "code-b")
	require.NoError(t, err)
	assert.NotEqual(t, first.User.ID, other.User.ID)

	assert.Equal(t, int64(2), f.count(t, &users.User{}))
	assert.Equal(t, int64(3), f.count(t, &users.Token{}))
	assert.Equal(t, 3, f.ex.calls)

	for _, l := range []*users.Login{first, second} {
		p, err := f.svc.Authenticate(ctx, l.Token)
		require.NoError(t, err)
		assert.Equal(t, users.Principal{UserID: first.User.ID, OpenID: "openid-a", Scope: users.ScopeUser}, *p)
	}
}

func TestLoginConcurrentSameOpenID(t *testing.T) {
	f := setup(t)
	ctx := context.Background()

	const n = 10
	ids := make([]uint, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-gate
			l, err := f.svc.LoginWithCode(ctx, "code-a1")
			errs[i] = err
			if err == nil {
				ids[i] = l.User.ID
			}
		}(i)
	}
	close(gate)
	wg.Wait()
	for i := range errs {
		require.NoError(t, errs[i])
		assert.Equal(t, ids[0], ids[i])
	}
	assert.Equal(t, int64(1), f.count(t, &users.User{}))
}

func TestLoginWithBadCode(t *testing.T) {
	f := setup(t)
	_, err := f.svc.LoginWithCode(context.Background(), "expired-code")
	require.ErrorIs(t, err, errBadCode)
	assert.Zero(t, f.count(t, &users.User{}))
	assert.Zero(t, f.count(t, &users.Token{}))
}

func TestAuthenticateRejectsUnknownAndExpired(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	l, err := f.svc.LoginWithCode(ctx, "code-a1")
	require.NoError(t, err)

	for name, tok := range map[string]string{
		"empty":         "",
		"unknown":       "deadbeef",
		"hash as token": sha256Hex(l.Token),
		"prefix":        l.Token[:len(l.Token)-1],
	} {
		_, err := f.svc.Authenticate(ctx, tok)
		assert.ErrorIs(t, err, users.ErrUnauthorized, name)
	}

	expired, _, err := f.svc.IssueToken(ctx, l.User.ID, users.ScopeUser, -time.Minute)
	require.NoError(t, err)
	_, err = f.svc.Authenticate(ctx, expired)
	assert.ErrorIs(t, err, users.ErrUnauthorized, "expired")

	// A valid token stops working once its expiry passes.
	require.NoError(t, f.db.Model(&users.Token{}).Where("hash = ?", sha256Hex(l.Token)).
		Update("expires_at", time.Now().Add(-time.Second)).Error)
	_, err = f.svc.Authenticate(ctx, l.Token)
	assert.ErrorIs(t, err, users.ErrUnauthorized)
}

func TestTokensStoredHashed(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	l, err := f.svc.LoginWithCode(ctx, "code-a1")
	require.NoError(t, err)

	// Every column of every row, as text.
	var rows []string
	require.NoError(t, f.db.Raw("SELECT t::text FROM tokens t").Scan(&rows).Error)
	require.Len(t, rows, 1)
	for _, r := range rows {
		assert.NotContains(t, r, l.Token)
	}

	var tok users.Token
	require.NoError(t, f.db.Where("user_id = ?", l.User.ID).Take(&tok).Error)
	assert.Equal(t, sha256Hex(l.Token), tok.Hash)
	assert.Equal(t, users.ScopeUser, tok.Scope)
}

// storeLegacyAdminToken writes the row that EnsureAdminToken of earlier
// versions stored for the static ADMIN_TOKEN: admin scope, bound to the
// "system:admin" user, valid for 30 days.
func storeLegacyAdminToken(t *testing.T, db *gorm.DB, tok string) {
	t.Helper()
	u := users.User{OpenID: "system:admin"}
	require.NoError(t, db.Create(&u).Error)
	require.NoError(t, db.Create(&users.Token{Hash: sha256Hex(tok), UserID: u.ID, Scope: "admin",
		ExpiresAt: time.Now().Add(30 * 24 * time.Hour)}).Error)
}

// The static operator token of earlier versions is no buyer token either:
// it is refused, and RevokeLegacyAdminTokens deletes it (and only it).
func TestLegacyAdminTokenRefusedAndRevoked(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	storeLegacyAdminToken(t, f.db, "operator-secret-token")
	buyer, err := f.svc.LoginWithCode(ctx, "code-b")
	require.NoError(t, err)

	_, err = f.svc.Authenticate(ctx, "operator-secret-token")
	assert.ErrorIs(t, err, users.ErrUnauthorized)

	n, err := f.svc.RevokeLegacyAdminTokens(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 1, n)
	assert.EqualValues(t, 1, f.count(t, &users.Token{}), "the buyer's token stays")
	_, err = f.svc.Authenticate(ctx, buyer.Token)
	assert.NoError(t, err)
	n, err = f.svc.RevokeLegacyAdminTokens(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "calling again is harmless")
}

func TestGetUser(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	l, err := f.svc.LoginWithCode(ctx, "code-b")
	require.NoError(t, err)
	u, err := f.svc.Get(ctx, l.User.ID)
	require.NoError(t, err)
	assert.Equal(t, "openid-b", u.OpenID)
	_, err = f.svc.Get(ctx, l.User.ID+1000)
	assert.ErrorIs(t, err, gorm.ErrRecordNotFound)
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// countQueries counts the SELECTs db runs from now on.
func countQueries(t *testing.T, db *gorm.DB) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	require.NoError(t, db.Callback().Query().After("gorm:query").Register("test:count_"+t.Name(), func(*gorm.DB) { n.Add(1) }))
	t.Cleanup(func() { _ = db.Callback().Query().Remove("test:count_" + t.Name()) })
	return &n
}

// TestAuthenticateWithTokenCache: with CacheTokens, a buyer's repeated
// requests cost one token look-up; unknown, expired and admin-scope tokens
// are refused as without it and never remembered.
func TestAuthenticateWithTokenCache(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	svc := users.NewService(f.db, f.ex, 24*time.Hour).CacheTokens(time.Minute, 100)
	l, err := svc.LoginWithCode(ctx, "code-a1")
	require.NoError(t, err)
	queries := countQueries(t, f.db)

	for range 5 {
		p, err := svc.Authenticate(ctx, l.Token)
		require.NoError(t, err)
		assert.Equal(t, users.Principal{UserID: l.User.ID, OpenID: "openid-a", Scope: users.ScopeUser}, *p)
		p.UserID = 999 // a caller changing its copy changes nothing for the next
	}
	assert.EqualValues(t, 1, queries.Load(), "one look-up for five requests")

	expired, _, err := svc.IssueToken(ctx, l.User.ID, users.ScopeUser, -time.Minute)
	require.NoError(t, err)
	admin, _, err := svc.IssueToken(ctx, l.User.ID, "admin", time.Hour)
	require.NoError(t, err)
	queries.Store(0)
	for range 3 {
		for _, tok := range []string{"no-such-token", expired, admin} {
			_, err := svc.Authenticate(ctx, tok)
			assert.ErrorIs(t, err, users.ErrUnauthorized, tok)
		}
	}
	assert.EqualValues(t, 9, queries.Load(), "refused tokens are looked up every time")
}

// TestAuthenticateWithoutTokenCache: a service without CacheTokens looks
// every token up, so a token deleted from the database is refused at once.
func TestAuthenticateWithoutTokenCache(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	l, err := f.svc.LoginWithCode(ctx, "code-b")
	require.NoError(t, err)
	queries := countQueries(t, f.db)
	for range 3 {
		_, err := f.svc.Authenticate(ctx, l.Token)
		require.NoError(t, err)
	}
	assert.EqualValues(t, 3, queries.Load())
	require.NoError(t, f.db.Exec("DELETE FROM tokens").Error)
	_, err = f.svc.Authenticate(ctx, l.Token)
	assert.ErrorIs(t, err, users.ErrUnauthorized)
}
