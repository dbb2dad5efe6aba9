package baidu_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // Baidu's cashier signs with SHA1withRSA
	"encoding/base64"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/baidu"
	"github.com/shopflow/orderpay/internal/providers"
)

// Baidu's two SDKs sign notifies differently, and both are published with
// Baidu smart program's pay docs (签名与验签, the page every callback page
// refers to, e.g. https://smartprogram.baidu.com/docs/develop/function/tune_up_examine/):
//   - PHP SDK, NuomiRsaSign::genSignWithRsa / checkSignWithRsa: every POST
//     parameter but rsaSign, empty ones included;
//   - Java SDK, NuomiSignature.genSignWithRsa / checkSignWithRsa: empty
//     parameters skipped.
// A notify signed either way is genuine. The field set is the payment
// notify of notifyVector (支付回调, with its empty promoDetail).

// stdlibBaiduSign signs params as the SDKs do, keepEmpty choosing PHP or Java.
func stdlibBaiduSign(t *testing.T, key *rsa.PrivateKey, params map[string]string, keepEmpty bool) string {
	t.Helper()
	var keys []string
	for k, v := range params {
		if k != "rsaSign" && k != "sign" && (keepEmpty || v != "") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + params[k]
	}
	sum := sha1.Sum([]byte(strings.Join(parts, "&"))) //nolint:gosec // mandated by Baidu
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA1, sum[:])
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(sig)
}

func TestBaiduGoldenNotifySignedByEitherSDK(t *testing.T) {
	c := newClient(t, nil)
	for name, keepEmpty := range map[string]bool{"PHP SDK (empty kept)": true, "Java SDK (empty dropped)": false} {
		p := paidParams()
		require.Empty(t, p["promoDetail"], "the sample has an empty field")
		form := url.Values{"rsaSign": {stdlibBaiduSign(t, anotherKey(t), p, keepEmpty)}}
		for k, v := range p {
			form.Set(k, v)
		}
		n, err := c.ParseNotify(form)
		require.NoError(t, err, name)
		assert.Equal(t, "20200513576982804164", n.TpOrderID, name)

		form.Set("totalMoney", "1")
		_, err = c.ParseNotify(form)
		require.ErrorIs(t, err, baidu.ErrInvalidSignature, "%s: tampered", name)
	}

	// Without empty fields both strings are the same; a wrong signature stays wrong.
	p := paidParams()
	delete(p, "promoDetail")
	delete(p, "returnData")
	assert.Equal(t, baidu.SignContent(p), baidu.JavaSignContent(p))
	sig := stdlibBaiduSign(t, anotherKey(t), p, true)
	p["totalMoney"] = "1"
	assert.ErrorIs(t, baidu.VerifyNotifyWithKey(&anotherKey(t).PublicKey, p, sig), baidu.ErrInvalidSignature)
}

// Baidu waits under 2 s for an answer to any callback ("业务方接口的耗时要求
// 小于 2s", tune_up_examine and the pay and refund notify pages), so the API
// must answer Baidu sooner than its 3 s default.
func TestBaiduNotifyBudgetUnderTwoSeconds(t *testing.T) {
	p := baidu.NewProvider(newClient(t, nil))
	var b providers.AnswerBudgeter = p
	assert.Less(t, b.NotifyBudget(), 2*time.Second)
}

// The refund-audit callback (请求业务方退款审核,
// https://smartprogram.baidu.com/docs/develop/function/tune_up_examine/):
// the documented request fields and sample values, and the documented
// answer {"errno":0,"msg":"success","data":{"auditStatus":1,"calculateRes":{"refundPayMoney":100}}}.
func TestBaiduGoldenRefundAudit(t *testing.T) {
	c := newClient(t, nil)
	p := map[string]string{"orderId": "1068881223", "userId": "149235070", "tpOrderId": "11119800",
		"refundBatchId": "149235070", "applyRefundMoney": "100"}
	form := url.Values{"rsaSign": {stdlibBaiduSign(t, anotherKey(t), p, true)}}
	for k, v := range p {
		form.Set(k, v)
	}
	a, err := c.ParseRefundAudit(form)
	require.NoError(t, err)
	assert.Equal(t, baidu.RefundAudit{TpOrderID: "11119800", OrderID: "1068881223", UserID: "149235070",
		RefundBatchID: "149235070", ApplyRefundCents: 100, Params: a.Params}, *a)
	assert.JSONEq(t, `{"errno":0,"msg":"success","data":{"auditStatus":1,"calculateRes":{"refundPayMoney":100}}}`,
		string(baidu.AckAudit(baidu.AuditApproved, 100)))

	form.Set("applyRefundMoney", "101")
	_, err = c.ParseRefundAudit(form)
	require.ErrorIs(t, err, baidu.ErrInvalidSignature)
	for _, bad := range []string{"0", "-1", "1.00"} {
		p["applyRefundMoney"] = bad
		f := url.Values{"rsaSign": {stdlibBaiduSign(t, anotherKey(t), p, true)}}
		for k, v := range p {
			f.Set(k, v)
		}
		_, err = c.ParseRefundAudit(f)
		require.ErrorIs(t, err, baidu.ErrMalformedNotify, bad)
	}
}
