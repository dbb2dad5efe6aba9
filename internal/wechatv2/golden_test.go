package wechatv2_test

import (
	"crypto/hmac"
	"crypto/md5" //nolint:gosec // WeChat Pay v2's MD5 signature
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/wechatv2"
)

// Golden vectors from WeChat Pay's published v2 documents, signed here with
// the standard library only (sorted non-empty k=v without sign, "&key=",
// MD5 upper hex or HMAC-SHA256 upper hex keyed by the API key).
//
// Sources:
//   - 安全规范 / 签名算法, https://pay.weixin.qq.com/wiki/doc/api/jsapi.php?chapter=4_3
//     (key 192006250b4c09247ec02edce69f6a2d and its MD5 / HMAC-SHA256 results);
//   - 支付结果通知, https://pay.weixin.qq.com/wiki/doc/api/jsapi.php?chapter=9_7
//     (the sample notify: appid wx2421b1c4370ec43b, mch_id 10000100,
//     out_trade_no 1409811653, no sign_type field).

// stdlibV2Sign signs p as WeChat Pay v2 does.
func stdlibV2Sign(key, signType string, p map[string]string) string {
	keys := make([]string, 0, len(p))
	for k, v := range p {
		if k != "sign" && v != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + p[k] + "&")
	}
	b.WriteString("key=" + key)
	if signType == wechatv2.SignTypeHMACSHA256 {
		m := hmac.New(sha256.New, []byte(key))
		m.Write([]byte(b.String()))
		return strings.ToUpper(hex.EncodeToString(m.Sum(nil)))
	}
	sum := md5.Sum([]byte(b.String())) //nolint:gosec // WeChat Pay v2's MD5 signature
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

func TestV2GoldenSigningExample(t *testing.T) {
	assert.Equal(t, v2DocMD5, stdlibV2Sign(v2DocKey, wechatv2.SignTypeMD5, v2DocParams()))
	assert.Equal(t, v2DocHMACSHA256, stdlibV2Sign(v2DocKey, wechatv2.SignTypeHMACSHA256, v2DocParams()))
}

// publishedV2Notify is the sample payment notify's field set.
func publishedV2Notify() map[string]string {
	return map[string]string{
		"appid": "wx2421b1c4370ec43b", "attach": "支付测试", "bank_type": "CFT", "fee_type": "CNY",
		"is_subscribe": "Y", "mch_id": "10000100", "nonce_str": "5d2b6c2a8db53831f7eda20af46e531c",
		"openid": "oUpF8uMEb4qRXf22hE3X68TekukE", "out_trade_no": "1409811653", "result_code": "SUCCESS",
		"return_code": "SUCCESS", "time_end": "20140903131540", "total_fee": "1", "coupon_fee": "10",
		"coupon_count": "1", "coupon_type": "CASH", "coupon_id": "10000", "trade_type": "JSAPI",
		"transaction_id": "1004400740201409030005092168",
	}
}

func v2NotifyXML(p map[string]string) []byte {
	var b strings.Builder
	b.WriteString("<xml>")
	for k, v := range p {
		b.WriteString("<" + k + "><![CDATA[" + v + "]]></" + k + ">")
	}
	b.WriteString("</xml>")
	return []byte(b.String())
}

// A notify without sign_type is accepted whichever of MD5 and HMAC-SHA256
// signed it, whatever the merchant's configured algorithm; a wrong
// signature or a declared sign_type that does not match is still refused.
func TestV2GoldenNotifyWithoutSignType(t *testing.T) {
	for _, configured := range []string{wechatv2.SignTypeMD5, wechatv2.SignTypeHMACSHA256} {
		c, err := wechatv2.New(wechatv2.Config{AppID: "wx2421b1c4370ec43b", MchID: "10000100", APIKey: v2DocKey, SignType: configured})
		require.NoError(t, err)
		for _, signedWith := range []string{wechatv2.SignTypeMD5, wechatv2.SignTypeHMACSHA256} {
			p := publishedV2Notify()
			p["sign"] = stdlibV2Sign(v2DocKey, signedWith, p)
			n, err := c.ParseNotify(v2NotifyXML(p))
			require.NoError(t, err, "configured %s, signed with %s", configured, signedWith)
			assert.Equal(t, "1409811653", n.OutTradeNo)
			assert.Equal(t, int64(1), n.TotalFeeCents)

			p["total_fee"] = "2"
			_, err = c.ParseNotify(v2NotifyXML(p))
			require.ErrorIs(t, err, wechatv2.ErrInvalidSignature, "tampered, configured %s", configured)

			p = publishedV2Notify()
			p["sign_type"] = otherV2(signedWith)
			p["sign"] = stdlibV2Sign(v2DocKey, signedWith, p)
			_, err = c.ParseNotify(v2NotifyXML(p))
			require.ErrorIs(t, err, wechatv2.ErrInvalidSignature, "declared %s, signed %s", p["sign_type"], signedWith)
		}
	}
}

func otherV2(st string) string {
	if st == wechatv2.SignTypeMD5 {
		return wechatv2.SignTypeHMACSHA256
	}
	return wechatv2.SignTypeMD5
}
