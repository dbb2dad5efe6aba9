package wechatv2_test

import (
	"bytes"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/devtools/sandbox/wechatv2sb"
	"github.com/shopflow/orderpay/internal/wechatv2"
)

func TestV2NotifyDeliveredAndVerified(t *testing.T) {
	forEachSignType(t, func(t *testing.T, e *v2Env) {
		no := e.order(t, "V2NOTIFY01", 4321)
		pr := e.pay(t, no, "")
		assert.True(t, pr.Notified)

		n, err := e.client.ParseNotify(receive(t, e.notifies, "payment notify"))
		require.NoError(t, err)
		assert.Equal(t, no, n.OutTradeNo)
		assert.Equal(t, pr.TransactionID, n.TransactionID)
		assert.Equal(t, int64(4321), n.TotalFeeCents)
		assert.Equal(t, int64(4321), n.CashFeeCents)
		assert.Equal(t, wechatv2.TradeTypeNative, n.TradeType)
		assert.Equal(t, e.creds.AppID, n.AppID)
		assert.Equal(t, e.creds.MchID, n.MchID)
		assert.NotEmpty(t, n.OpenID)
		assert.WithinDuration(t, time.Now(), n.TimeEnd, time.Minute)

		require.Eventually(t, func() bool {
			v, err := e.sb.Order(no)
			return err == nil && v.Notify.Delivered
		}, 10*time.Second, 5*time.Millisecond)
		v, err := e.sb.Order(no)
		require.NoError(t, err)
		assert.Equal(t, 1, v.Notify.Attempts)
	})
}

func TestV2NotifyResentUntilAckSuccess(t *testing.T) {
	e := newV2Env(t, wechatv2.SignTypeHMACSHA256)
	var calls atomic.Int32
	e.answerWith(func([]byte) string {
		if calls.Add(1) < 3 {
			return wechatv2.AckFail("database busy")
		}
		return wechatv2.AckSuccess()
	})
	no := e.order(t, "V2RESEND01", 100)
	e.pay(t, no, wechatv2sb.PayNotify)
	first := receive(t, e.notifies, "first notify")
	for range 2 {
		again := receive(t, e.notifies, "re-sent notify")
		assert.Equal(t, first, again, "a re-send repeats the same signed notify")
	}
	require.Eventually(t, func() bool {
		v, err := e.sb.Order(no)
		return err == nil && v.Notify.Delivered
	}, 10*time.Second, 5*time.Millisecond)
	v, err := e.sb.Order(no)
	require.NoError(t, err)
	assert.Equal(t, 3, v.Notify.Attempts)
	assert.False(t, v.Notify.History[0].Success)
	assert.Contains(t, v.Notify.History[0].Error, "database busy")
}

func TestV2TamperedNotifyRejected(t *testing.T) {
	forEachSignType(t, func(t *testing.T, e *v2Env) {
		no := e.order(t, "V2TAMPER01", 2500)
		e.pay(t, no, "")
		body := receive(t, e.notifies, "payment notify")
		_, err := e.client.ParseNotify(body)
		require.NoError(t, err, "the genuine notify verifies")

		tampered := bytes.Replace(body, []byte("<total_fee><![CDATA[2500]]>"), []byte("<total_fee><![CDATA[1]]>"), 1)
		require.NotEqual(t, body, tampered)
		_, err = e.client.ParseNotify(tampered)
		require.ErrorIs(t, err, wechatv2.ErrInvalidSignature)

		p, err := wechatv2sb.ParseXML(body)
		require.NoError(t, err)
		delete(p, "sign")
		_, err = e.client.ParseNotify(wechatv2sb.EncodeXML(p))
		require.ErrorIs(t, err, wechatv2.ErrInvalidSignature, "unsigned notify")

		// Correctly signed, but for another merchant.
		p["mch_id"] = "1900000999"
		p["sign"] = wechatv2sb.Sign(e.creds.APIKey, e.client.SignType(), p)
		_, err = e.client.ParseNotify(wechatv2sb.EncodeXML(p))
		require.ErrorIs(t, err, wechatv2.ErrMerchantMismatch)

		// Correctly signed failure notify.
		p["mch_id"], p["result_code"] = e.creds.MchID, "FAIL"
		p["sign"] = wechatv2sb.Sign(e.creds.APIKey, e.client.SignType(), p)
		_, err = e.client.ParseNotify(wechatv2sb.EncodeXML(p))
		require.ErrorIs(t, err, wechatv2.ErrNotifyNotSuccess)

		_, err = e.client.ParseNotify([]byte("<xml><a>"))
		require.ErrorIs(t, err, wechatv2.ErrMalformedNotify)
	})
}

func TestV2AckStrings(t *testing.T) {
	assert.Equal(t, "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>",
		wechatv2.AckSuccess())
	assert.Equal(t, "<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[bad sign]]></return_msg></xml>",
		wechatv2.AckFail("bad sign"))
	assert.False(t, strings.Contains(wechatv2.AckFail("x]]>y"), "x]]>y"), "msg cannot break out of CDATA")
}
