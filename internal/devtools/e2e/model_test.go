package e2e

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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
	})
	require.NoError(t, err, "MODEL_SEED=%d", seed)
	t.Logf("figures: %s", res.Figures())
	t.Log(res.Report.String())
	require.Empty(t, res.ServerErrors, "server errors (MODEL_SEED=%d)", seed)
	require.Empty(t, res.Report.Discrepancies, "the books do not balance (MODEL_SEED=%d):\n%s", seed, res.Report)
}
