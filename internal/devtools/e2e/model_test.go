package e2e

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/devtools/books"
	"github.com/shopflow/orderpay/internal/devtools/books/model"
)

// modelSeed is MODEL_SEED when set (to reproduce a run), else the time.
func modelSeed(t *testing.T) int64 {
	t.Helper()
	if v := os.Getenv("MODEL_SEED"); v != "" {
		seed, err := strconv.ParseInt(v, 10, 64)
		require.NoError(t, err, "MODEL_SEED")
		return seed
	}
	return time.Now().UnixNano() % 1_000_000_000
}

// modelSessions is MODEL_SESSIONS when set, else def.
func modelSessions(t *testing.T, def int) int {
	t.Helper()
	if v := os.Getenv("MODEL_SESSIONS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err, "MODEL_SESSIONS")
		return n
	}
	return def
}

// The seeded, randomized model: concurrent buyers place, re-pay on other
// channels, pay attempt k (old ones too), re-send notifies, cancel, let
// the short payment window expire, top up and spend, while the operator
// refunds in part and in full; then the books checker compares the shop's
// database with the sandbox's books and every discrepancy fails the test.
// MODEL_SEED reproduces a run, MODEL_SESSIONS sizes it.
func TestModelConservesMoney(t *testing.T) {
	runModel(t, modelSessions(t, 20), 15)
}

func runModel(t *testing.T, sessions, actions int) {
	seed := modelSeed(t)
	t.Logf("model: MODEL_SEED=%d MODEL_SESSIONS=%d (set them to reproduce)", seed, sessions)
	s := startSystem(t, options{paymentTimeout: 3 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	res, err := model.Run(ctx, model.Config{
		APIURL: s.apiURL, SandboxURL: s.sandboxURL, AdminUser: bootstrapAdmin, AdminPassword: bootstrapPassword,
		DB: s.app.DB, Seed: seed, Sessions: sessions, Actions: actions, PointsPerYuan: 1,
		Settle: 2 * time.Minute, Logf: t.Logf,
		Reconcile: model.ReconcileNow(s.app.Temporal, s.app.Config.TaskQueue),
	})
	require.NoError(t, err, "MODEL_SEED=%d", seed)
	t.Logf("figures: %s", res.Figures())
	t.Log(res.Report.String())
	for _, o := range res.OverloadedSeen {
		t.Logf("model: overloaded answer: %s", o)
	}
	require.Empty(t, res.ServerErrors, "server errors (MODEL_SEED=%d)", seed)
	require.Empty(t, res.Report.Discrepancies, "the books do not balance (MODEL_SEED=%d):\n%s", seed, res.Report)

	// The checker is not blind: an order that kept its money marked
	// cancelled, and a unit of stock gone missing, are both reported.
	var kept string
	require.NoError(t, s.app.DB.Table("orders").Where("status = ? AND amount_cents > 0", "completed").
		Order("order_no").Limit(1).Pluck("order_no", &kept).Error)
	require.NotEmpty(t, kept, "the run completed no paid order (MODEL_SEED=%d)", seed)
	require.NoError(t, s.app.DB.Table("orders").Where("order_no = ?", kept).Update("status", "cancelled").Error)
	require.NoError(t, s.app.DB.Exec("UPDATE products SET stock = stock - 1 WHERE id = ?", coffeeID).Error)
	b, err := books.Fetch(ctx, nil, s.sandboxURL)
	require.NoError(t, err)
	rep, err := books.Check(ctx, s.app.DB, b, books.Options{PointsPerYuan: 1, InitialStock: model.InitialStock()})
	require.NoError(t, err)
	var about []string
	for _, d := range rep.Discrepancies {
		about = append(about, d.String())
	}
	assert.Contains(t, strings.Join(about, "\n"), "order "+kept+": the buyer paid", rep.String())
	assert.Contains(t, strings.Join(about, "\n"), "product 1 (", rep.String())
}
