package admins_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/admins"
	"github.com/shopflow/orderpay/internal/devtools/testenv"
)

// databases runs f against a fresh PostgreSQL schema and a fresh SQLite file.
func databases(t *testing.T, f func(t *testing.T, db *gorm.DB)) {
	t.Run("postgres", func(t *testing.T) { _, db := testenv.Postgres(t); f(t, db) })
	t.Run("sqlite", func(t *testing.T) { _, db := testenv.SQLite(t); f(t, db) })
}

func TestAccountsTokensAndAudit(t *testing.T) {
	databases(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := admins.NewService(db, time.Hour)

		_, err := svc.EnsureBootstrap(ctx, "root", "")
		require.ErrorIs(t, err, admins.ErrNoBootstrap)
		// Two processes starting at once create one account.
		var wg sync.WaitGroup
		created := make([]bool, 4)
		for i := range created {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := svc.EnsureBootstrap(ctx, "root", "bootstrap-password")
				assert.NoError(t, err)
				created[i] = c
			}()
		}
		wg.Wait()
		n := 0
		for _, c := range created {
			if c {
				n++
			}
		}
		assert.Equal(t, 1, n)
		c, err := svc.EnsureBootstrap(ctx, "root", "")
		require.NoError(t, err, "an admin exists: no password needed")
		assert.False(t, c)

		l, a, err := svc.Login(ctx, "root", "bootstrap-password")
		require.NoError(t, err)
		assert.Equal(t, admins.RoleAdmin, a.Role)
		p, err := svc.Authenticate(ctx, l.Token)
		require.NoError(t, err)
		assert.Equal(t, "root", p.Username)
		_, _, err = svc.Login(ctx, "root", "wrong-password")
		assert.ErrorIs(t, err, admins.ErrBadCredentials)

		// The last enabled admin cannot lock everybody out.
		yes := true
		_, _, err = svc.Update(ctx, a.ID, admins.Change{Disabled: &yes})
		assert.ErrorIs(t, err, admins.ErrLastAdmin)

		sup, err := svc.Create(ctx, "sup", "support-password", admins.RoleSupport, "root")
		require.NoError(t, err)
		sl, _, err := svc.Login(ctx, "sup", "support-password")
		require.NoError(t, err)
		pw := "changed-password"
		_, revoked, err := svc.Update(ctx, sup.ID, admins.Change{Password: &pw})
		require.NoError(t, err)
		assert.EqualValues(t, 1, revoked)
		_, err = svc.Authenticate(ctx, sl.Token)
		assert.ErrorIs(t, err, admins.ErrUnauthorized)

		require.NoError(t, svc.Logout(ctx, l.Token))
		_, err = svc.Authenticate(ctx, l.Token)
		assert.ErrorIs(t, err, admins.ErrUnauthorized)

		// The audit log pages newest first; odd bytes in headers are kept readable.
		for i := range 5 {
			require.NoError(t, svc.Record(ctx, admins.AuditEntry{Action: "refund.create", OrderNo: "O" + string(rune('0'+i)),
				Outcome: admins.OutcomeOK, Status: 202, IP: "192.0.2.1", UserAgent: "bad \xff byte"}))
		}
		page, err := svc.Audit(ctx, admins.AuditQuery{Limit: 3})
		require.NoError(t, err)
		require.Len(t, page.Entries, 3)
		assert.Equal(t, "O4", page.Entries[0].OrderNo)
		assert.Equal(t, "bad \uFFFD byte", page.Entries[0].UserAgent)
		page, err = svc.Audit(ctx, admins.AuditQuery{Limit: 3, Before: page.NextBefore})
		require.NoError(t, err)
		require.Len(t, page.Entries, 2)
		assert.Zero(t, page.NextBefore)
		assert.Equal(t, "O0", page.Entries[1].OrderNo)
	})
}
