package e2e

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/devtools/sandbox"
	"github.com/shopflow/orderpay/internal/devtools/sandbox/creds"
)

// signedNotify builds a WeChat Pay v3 payment notify exactly as WeChat
// would (encrypted with the APIv3 key, signed with the platform key), for
// a transaction the test chooses, dated ts. It returns header pairs and body.
func signedNotify(t *testing.T, cr *creds.Credentials, tx map[string]any, ts time.Time) ([]string, []byte) {
	t.Helper()
	base := map[string]any{
		"appid": cr.AppID, "mchid": cr.MchID, "trade_type": "NATIVE", "trade_state": "SUCCESS",
		"trade_state_desc": "支付成功", "bank_type": "OTHERS", "attach": "",
		"success_time": ts.Format(time.RFC3339), "payer": map[string]any{"openid": "o-test"},
	}
	for k, v := range tx {
		base[k] = v
	}
	txJSON, err := json.Marshal(base)
	require.NoError(t, err)
	body, err := sandbox.BuildNotify(cr.APIv3Key, fmt.Sprintf("EV-%d", ts.UnixNano()), ts, txJSON)
	require.NoError(t, err)

	block, _ := pem.Decode([]byte(cr.PlatformPrivateKeyPEM))
	require.NotNil(t, block, "platform private key PEM")
	var key *rsa.PrivateKey
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		key = k.(*rsa.PrivateKey)
	} else {
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		require.NoError(t, err)
	}
	stamp, nonce := strconv.FormatInt(ts.Unix(), 10), fmt.Sprintf("N%d", ts.UnixNano())
	sum := sha256.Sum256([]byte(stamp + "\n" + nonce + "\n" + string(body) + "\n"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	require.NoError(t, err)
	return []string{
		"Wechatpay-Timestamp", stamp, "Wechatpay-Nonce", nonce,
		"Wechatpay-Serial", cr.PlatformPublicKeyID, "Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig),
	}, body
}
