package sandbox

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNotifyScheduleIsWeChatsScaled(t *testing.T) {
	full := NotifySchedule(1)
	require.Len(t, full, 15)
	assert.Equal(t, 15*time.Second, full[0])
	assert.Equal(t, 3*time.Minute, full[3])
	assert.Equal(t, 6*time.Hour, full[14])
	var total time.Duration
	for _, d := range full {
		total += d
	}
	assert.Equal(t, 24*time.Hour+4*time.Minute, total)

	scaled := NotifySchedule(DefaultNotifyScale)
	assert.Equal(t, 150*time.Millisecond, scaled[0])
	assert.Equal(t, 216*time.Second, scaled[14])
}

// WeChat Pay v3 counts a notify as received on 200 or 204, whatever the
// body, and as failed on anything else (通知应答,
// https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_3_5.shtml). Issue
// 15: the sandbox re-sent a 200 whose body was not its success JSON and
// took a 202 as delivered.
func TestNotifyAcknowledgedByStatusAlone(t *testing.T) {
	s, err := New(Options{StateDir: t.TempDir(), NotifyScale: 1e-6,
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	for _, c := range []struct {
		status int
		body   string
		want   bool
	}{
		{200, "", true},
		{200, `{"code":"SUCCESS","message":"成功"}`, true},
		{200, "ok", true},
		{200, `{"code":"FAIL","message":"x"}`, true},
		{204, "", true},
		{202, "", false},
		{201, `{"code":"SUCCESS"}`, false},
		{400, `{"code":"FAIL","message":"bad"}`, false},
		{500, `{"code":"FAIL","message":"db down"}`, false},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(c.status)
			_, _ = w.Write([]byte(c.body))
		}))
		a := s.sendNotify(t.Context(), srv.URL, func() ([]byte, error) { return []byte(`{}`), nil })
		srv.Close()
		assert.Equal(t, c.want, a.Success, "%d %q: %s", c.status, c.body, a.Error)
		assert.Equal(t, c.status, a.Status)
	}
}

func TestExpiredOrderCannotBePaid(t *testing.T) {
	s, err := New(Options{StateDir: t.TempDir(), NotifyScale: 1e-6,
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, chinaTZ)
	s.now = func() time.Time { return now }

	b := &prepayBody{
		AppID: s.creds.AppID, MchID: s.creds.MchID, Description: "d", OutTradeNo: "EXPIRE0001",
		NotifyURL: "http://127.0.0.1:1/n", TimeExpire: now.Add(10 * time.Minute).Format(time.RFC3339),
	}
	b.Amount = &struct {
		Total    int64  `json:"total"`
		Currency string `json:"currency"`
	}{Total: 5}
	o, rep, ok := s.validatePrepay(tradeNative, b)
	require.True(t, ok, "%+v", rep)
	require.NoError(t, s.assignPrepayIDs(o))
	s.orders[o.OutTradeNo] = o

	now = now.Add(10 * time.Minute)
	_, err = s.Pay("EXPIRE0001", "")
	require.ErrorIs(t, err, ErrOrderExpired)

	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/sandbox/orders/EXPIRE0001/pay", nil))
	assert.Equal(t, http.StatusConflict, rec.Code)
	assert.Contains(t, rec.Body.String(), "ORDER_EXPIRED")

	v, err := s.Order("EXPIRE0001")
	require.NoError(t, err)
	assert.Equal(t, StateNotPay, v.TradeState, "expiry does not change the trade state")

	// One second earlier it could still be paid.
	now = now.Add(-time.Second)
	res, err := s.Pay("EXPIRE0001", "oBuyer")
	require.NoError(t, err)
	assert.Equal(t, StateSuccess, res.TradeState)
}
