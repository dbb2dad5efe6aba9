package alipaysb

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	sdk "github.com/smartwalle/alipay/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSandboxAcceptedByWidelyUsedSDK drives the sandbox with an Alipay SDK
// written independently of ours and of gopay (github.com/smartwalle/alipay,
// RSA2 signing and response verification of its own): the sandbox must
// accept its signed requests, sign answers it verifies, and send notifies
// it verifies (issue 15: client and sandbox were written together, so an
// outside client keeps them honest).
func TestSandboxAcceptedByWidelyUsedSDK(t *testing.T) {
	notifies := make(chan url.Values, 4)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, r.ParseForm())
		notifies <- r.PostForm
		_, _ = w.Write([]byte("success"))
	}))
	t.Cleanup(recv.Close)
	f := newFixture(t, recv.URL)
	cr := f.s.Credentials()

	c, err := sdk.New(cr.AppID, cr.AppPrivateKey, true,
		sdk.WithProductionGateway(f.srv.URL+"/gateway.do"), sdk.WithTimeLocation(time.FixedZone("CST", 8*3600)))
	require.NoError(t, err)
	require.NoError(t, c.LoadAliPayPublicKey(cr.AlipayPublicKey))

	const no = "SDK0001"
	pre, err := c.TradePreCreate(t.Context(), sdk.TradePreCreate{Trade: sdk.Trade{
		NotifyURL: recv.URL, Subject: "Tea", OutTradeNo: no, TotalAmount: "12.34",
	}})
	require.NoError(t, err, "the SDK verified the sandbox's signed answer")
	require.True(t, pre.IsSuccess(), "%+v", pre.Error)
	assert.NotEmpty(t, pre.QRCode)

	_, err = f.s.Pay(no, "")
	require.NoError(t, err)
	var form url.Values
	select {
	case form = <-notifies:
	case <-time.After(10 * time.Second):
		t.Fatal("no notify")
	}
	n, err := c.DecodeNotification(form)
	require.NoError(t, err, "the SDK verifies the sandbox's notify")
	assert.Equal(t, no, n.OutTradeNo)
	assert.Equal(t, sdk.TradeStatusSuccess, n.TradeStatus)
	assert.Equal(t, "12.34", n.TotalAmount)

	q, err := c.TradeQuery(t.Context(), sdk.TradeQuery{OutTradeNo: no})
	require.NoError(t, err)
	require.True(t, q.IsSuccess(), "%+v", q.Error)
	assert.Equal(t, sdk.TradeStatusSuccess, q.TradeStatus)

	rf, err := c.TradeRefund(t.Context(), sdk.TradeRefund{OutTradeNo: no, RefundAmount: "1.00", OutRequestNo: no + "R1"})
	require.NoError(t, err)
	require.True(t, rf.IsSuccess(), "%+v", rf.Error)
	assert.Equal(t, "Y", rf.FundChange)
}
