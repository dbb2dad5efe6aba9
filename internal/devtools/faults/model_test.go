//go:build faults

package faults

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/shopflow/orderpay/internal/devtools/books/model"
)

// The large model run: MODEL_SESSIONS (default 200) concurrent buyers mix
// every action on every channel against one system (payment window 3s),
// then the books checker compares the database with the sandbox's books.
// The seed is printed; MODEL_SEED reproduces a run.
func TestModelLarge(t *testing.T) {
	seed := time.Now().UnixNano() % 1_000_000_000
	if v := os.Getenv("MODEL_SEED"); v != "" {
		var err error
		seed, err = strconv.ParseInt(v, 10, 64)
		require.NoError(t, err, "MODEL_SEED")
	}
	sessions := 200
	if v := os.Getenv("MODEL_SESSIONS"); v != "" {
		var err error
		sessions, err = strconv.Atoi(v)
		require.NoError(t, err, "MODEL_SESSIONS")
	}
	t.Logf("model: MODEL_SEED=%d MODEL_SESSIONS=%d (set them to reproduce)", seed, sessions)
	s := startSystem(t, options{paymentTimeout: 3 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	tc, err := client.Dial(client.Options{HostPort: s.temporal, Namespace: "default"})
	require.NoError(t, err)
	defer tc.Close()
	res, err := model.Run(ctx, model.Config{
		APIURL: s.apiURL, SandboxURL: s.sandboxURL, AdminUser: "root", AdminPassword: "faults-bootstrap-password",
		DB: s.db, Seed: seed, Sessions: sessions, Actions: 15, PointsPerYuan: 1,
		Settle: 3 * time.Minute, Logf: t.Logf,
		Reconcile: model.ReconcileNow(tc, s.taskQueue),
	})
	require.NoError(t, err, "MODEL_SEED=%d", seed)
	t.Logf("figures: %s", res.Figures())
	t.Log(res.Report.String())
	for _, o := range res.OverloadedSeen {
		t.Logf("model: overloaded answer: %s", o)
	}
	var bad []string
	for _, d := range res.Report.Discrepancies {
		bad = append(bad, d.OrderNo)
	}
	dumpOrders(t, s.db, tc, bad)
	require.Empty(t, res.ServerErrors, "server errors (MODEL_SEED=%d)", seed)
	require.Empty(t, res.Report.Discrepancies, "the books do not balance (MODEL_SEED=%d):\n%s", seed, res.Report)
}
