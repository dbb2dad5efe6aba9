package app_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/app"
	"github.com/shopflow/orderpay/internal/catalog"
	"github.com/shopflow/orderpay/internal/config"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/store"
)

// productionEnv is a realistic production configuration: test keys
// generated here, the providers' real hosts (no base URL set), public
// https notify URLs, no sandbox anywhere (the working directory has no
// .data/sandbox) and ORDERPAY_ENV unset (production).
func productionEnv(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	priv, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	require.NoError(t, err)
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
		return path
	}
	privFile, pubFile := write("apiclient_key.pem", "PRIVATE KEY", priv), write("pub_key.pem", "PUBLIC KEY", pub)
	return map[string]string{
		"ORDERPAY_ENV":   "",
		"PUBLIC_API_URL": "https://shop.example.com",
		"SQLITE_PATH":    filepath.Join(dir, "shop.db"), "DATABASE_URL": "",
		"TEMPORAL_ADDRESS":         "127.0.0.1:1", // lazy client; not dialled here
		"TEMPORAL_PAYLOAD_KEYS":    "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
		"ADMIN_BOOTSTRAP_USER":     "admin",
		"ADMIN_BOOTSTRAP_PASSWORD": "production-test-password",
		"SEED_DEMO_PRODUCTS":       "",
		// WeChat Pay v3, public key mode (pay.weixin.qq.com merchant platform).
		"WECHAT_APPID": "wx8888888888888888", "WECHAT_APP_SECRET": "0123456789abcdef0123456789abcdef",
		"WECHAT_MCHID": "1900000109", "WECHAT_MCH_SERIAL_NO": "444F4864EA9B34415C5D0E30D1B6DE2A38E5F5F6",
		"WECHAT_APIV3_KEY": "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4", "WECHAT_MCH_PRIVATE_KEY_FILE": privFile,
		"WECHAT_PLATFORM_PUBLIC_KEY_FILE": pubFile, "WECHAT_PLATFORM_PUBLIC_KEY_ID": "PUB_KEY_ID_0119000001092025010100000000000001",
		"WECHAT_PAY_BASE_URL": "", "WECHAT_LOGIN_BASE_URL": "", "WECHAT_NOTIFY_URL": "", "WECHAT_REFUND_NOTIFY_URL": "",
		// WeChat Pay v2.
		"WECHATV2_APPID": "wx8888888888888888", "WECHATV2_MCHID": "1900000109",
		"WECHATV2_API_KEY": "192006250b4c09247ec02edce69f6a2d", "WECHATV2_BASE_URL": "",
		// Alipay, public key mode.
		"ALIPAY_APPID": "2021000000000001", "ALIPAY_PRIVATE_KEY_FILE": privFile, "ALIPAY_PUBLIC_KEY_FILE": pubFile,
		"ALIPAY_SELLER_ID": "2088000000000001", "ALIPAY_GATEWAY_URL": "",
		// Baidu.
		"BAIDU_APP_KEY": "MMMabc", "BAIDU_DEAL_ID": "470193086", "BAIDU_ACCESS_TOKEN": "24.abc.2592000.1.2",
		"BAIDU_PRIVATE_KEY_FILE": privFile, "BAIDU_PLATFORM_PUBLIC_KEY_FILE": pubFile,
		"BAIDU_BASE_URL": "", "BAIDU_SANDBOX_REGISTER_URL": "",
	}
}

// A production start with a realistic configuration starts: every provider
// registered against its real host, no demo products, every channel on.
func TestProductionStartWithRealisticConfiguration(t *testing.T) {
	t.Chdir(t.TempDir()) // no .data/sandbox here
	for k, v := range productionEnv(t) {
		t.Setenv(k, v)
	}
	cfg, err := config.Load()
	require.NoError(t, err)
	require.True(t, cfg.Production())
	db, err := store.Open(context.Background(), store.Options{DatabaseURL: cfg.DatabaseURL, SQLitePath: cfg.SQLitePath, LogWriter: io.Discard})
	require.NoError(t, err)
	require.NoError(t, store.Migrate(context.Background(), db), "the migrate command runs before the API in production")
	if sqlDB, err := db.DB(); err == nil {
		sqlDB.Close()
	}
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	defer a.Close()
	require.NoError(t, a.Prepare(context.Background()))

	assert.ElementsMatch(t, contract.Channels, a.PayChannels())
	products, err := catalog.NewService(a.DB).List(context.Background())
	require.NoError(t, err)
	assert.Empty(t, products, "no demo products in production")
	var names []string
	for _, c := range a.ReadinessChecks() {
		names = append(names, c.Name)
	}
	assert.Subset(t, names, []string{"provider:wechatpay_v3", "provider:wechatpay_v2", "provider:alipay", "provider:baidu"})
	assert.Equal(t, "https://shop.example.com/api/v1/notify/wechatpay", cfg.WeChat.NotifyURL)
}

// The same configuration with settings missing fails at start, naming
// every one of them, per provider.
func TestProductionStartFailsListingMissingSettings(t *testing.T) {
	t.Chdir(t.TempDir())
	env := productionEnv(t)
	for _, k := range []string{"WECHAT_APIV3_KEY", "WECHAT_MCH_SERIAL_NO", "ALIPAY_PUBLIC_KEY_FILE", "BAIDU_DEAL_ID", "PUBLIC_API_URL"} {
		env[k] = ""
	}
	env["WECHAT_NOTIFY_URL"] = "https://shop.example.com/api/v1/notify/wechatpay?from=wx"
	for k, v := range env {
		t.Setenv(k, v)
	}
	_, err := config.Load()
	require.Error(t, err)
	for _, want := range []string{
		"WeChat Pay v3: set WECHAT_MCH_SERIAL_NO, WECHAT_APIV3_KEY",
		"WECHAT_REFUND_NOTIFY_URL (or PUBLIC_API_URL)",
		"must not carry a query string",
		"WeChat Pay v2: set WECHATV2_NOTIFY_URL (or PUBLIC_API_URL)",
		"Alipay's key is missing: set ALIPAY_PUBLIC_KEY_FILE",
		"Baidu: set BAIDU_DEAL_ID",
	} {
		assert.Contains(t, err.Error(), want)
	}
}
