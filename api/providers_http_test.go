package api_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/api"
)

// A shop without WeChat Pay v3 settings starts (they were mandatory even
// for a merchant on Alipay or Baidu only); WeChat Pay v3's channels answer
// 400 channel_not_available, its notify URL is not served (4xx), and /readyz
// lists only the providers that are configured.
func TestShopWithoutWeChatPayV3(t *testing.T) {
	s := newAPISystem(t, "WECHAT_MCHID", "", "WECHAT_MCH_SERIAL_NO", "", "WECHAT_APIV3_KEY", "",
		"WECHAT_MCH_PRIVATE_KEY_FILE", "", "WECHAT_PLATFORM_PUBLIC_KEY_FILE", "", "WECHAT_PLATFORM_PUBLIC_KEY_ID", "")
	token, _ := s.login("buyer-no-wechat")
	coffee := s.productID("Coffee Beans")
	before := s.snapshot()
	for _, ch := range []string{"wechat_jsapi", "wechat_native", "wechat_h5"} {
		res := s.do("POST", "/api/v1/orders", token, map[string]any{
			"items": []map[string]any{{"product_id": coffee, "quantity": 1}}, "pay_channel": ch})
		require.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))
		var body api.ErrorBody
		require.NoError(t, json.Unmarshal(res.Body, &body))
		assert.Equal(t, api.CodeChannelNotAvailable, body.Error.Code, ch)
		assert.Contains(t, body.Error.Message, "not available")
		assert.Contains(t, body.Error.Message, "alipay_qr", "the available channels are named")
	}
	assert.Equal(t, before, s.snapshot(), "nothing written")

	notify := s.do("POST", "/api/v1/notify/wechatpay", "", map[string]any{})
	assert.True(t, notify.Status >= 400 && notify.Status < 500, "the WeChat v3 notify URL is not served: %d", notify.Status)

	var rep struct{ Checks map[string]string }
	require.NoError(t, json.Unmarshal(s.do("GET", "/readyz", "", nil).Body, &rep))
	assert.Equal(t, "ok", rep.Checks["providers"])
	assert.Contains(t, rep.Checks, "provider:alipay")
	assert.NotContains(t, rep.Checks, "provider:wechatpay_v3")
}
