package wechatv2_test

import (
	"testing"

	"github.com/go-pay/gopay"
	"github.com/go-pay/gopay/wechat"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/devtools/sandbox/wechatv2sb"
)

// The example of WeChat Pay's v2 signature specification (安全规范 / 签名算法).
const (
	v2DocKey        = "192006250b4c09247ec02edce69f6a2d"
	v2DocMD5        = "9A0A8659F005D6984697E2CA0A9CF3B7"
	v2DocHMACSHA256 = "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6"
)

func v2DocParams() map[string]string {
	return map[string]string{
		"appid": "wxd930ea5d5a258f4f", "mch_id": "10000100", "device_info": "1000",
		"body": "test", "nonce_str": "ibuaiVcKdpRxkhJA",
	}
}

func v2BodyMap(p map[string]string) gopay.BodyMap {
	bm := make(gopay.BodyMap)
	for k, v := range p {
		bm.Set(k, v)
	}
	return bm
}

// TestV2SignKnownVectors signs fixed parameter sets with gopay and with the
// sandbox's independent implementation: both must equal each other and,
// for WeChat's documented example, the published signatures.
func TestV2SignKnownVectors(t *testing.T) {
	doc := v2DocParams()
	assert.Equal(t, v2DocMD5, wechat.GetReleaseSign(v2DocKey, wechat.SignType_MD5, v2BodyMap(doc)))
	assert.Equal(t, v2DocMD5, wechatv2sb.Sign(v2DocKey, wechatv2sb.SignTypeMD5, doc))
	assert.Equal(t, v2DocHMACSHA256, wechat.GetReleaseSign(v2DocKey, wechat.SignType_HMAC_SHA256, v2BodyMap(doc)))
	assert.Equal(t, v2DocHMACSHA256, wechatv2sb.Sign(v2DocKey, wechatv2sb.SignTypeHMACSHA256, doc))

	// A unified order as gopay sends it: Chinese text, URL, numbers, an
	// empty value (skipped by both) and the sign_type field itself.
	const key = "Wv2SandboxKey0123456789abcdefABC"
	order := map[string]string{
		"appid": "wxsandboxv2000000001", "mch_id": "1900000002", "nonce_str": "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
		"body": "腾讯充值中心-QQ会员充值", "out_trade_no": "20150806125346", "total_fee": "88",
		"spbill_create_ip": "123.12.12.123", "notify_url": "https://example.com/wxpay/notify?a=1&b=2",
		"trade_type": "JSAPI", "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "attach": "",
	}
	for _, st := range []string{wechatv2sb.SignTypeMD5, wechatv2sb.SignTypeHMACSHA256} {
		t.Run(st, func(t *testing.T) {
			p := map[string]string{"sign_type": st}
			for k, v := range order {
				p[k] = v
			}
			want := wechat.GetReleaseSign(key, st, v2BodyMap(p))
			require.Len(t, want, map[string]int{wechatv2sb.SignTypeMD5: 32, wechatv2sb.SignTypeHMACSHA256: 64}[st])
			assert.Equal(t, want, wechatv2sb.Sign(key, st, p))

			// gopay's VerifySign accepts what the sandbox signs…
			p["sign"] = wechatv2sb.Sign(key, st, p)
			ok, err := wechat.VerifySign(key, st, v2BodyMap(p))
			require.NoError(t, err)
			assert.True(t, ok)
			// …and refuses it after any change (check ok, not err).
			p["total_fee"] = "89"
			ok, err = wechat.VerifySign(key, st, v2BodyMap(p))
			require.NoError(t, err)
			assert.False(t, ok)
		})
	}
	assert.Empty(t, wechatv2sb.Sign(key, "RSA", order), "unknown sign type")
}

// TestV2JSAPIPaySignKnownVector checks gopay's paySign against the sandbox
// signer over the five wx.requestPayment fields.
func TestV2JSAPIPaySignKnownVector(t *testing.T) {
	const key = "Wv2SandboxKey0123456789abcdefABC"
	for _, st := range []string{wechatv2sb.SignTypeMD5, wechatv2sb.SignTypeHMACSHA256} {
		p := map[string]string{
			"appId": "wxsandboxv2000000001", "timeStamp": "1700000000", "nonceStr": "abc123",
			"package": "prepay_id=wx20231114223320abcdef0123456789abcd", "signType": st,
		}
		got := wechat.GetJsapiPaySign(p["appId"], p["nonceStr"], p["package"], st, p["timeStamp"], key)
		assert.Equal(t, wechatv2sb.Sign(key, st, p), got, st)
	}
}
