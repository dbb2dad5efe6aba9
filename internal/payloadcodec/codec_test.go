package payloadcodec_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/shopflow/orderpay/internal/payloadcodec"
)

func secret(t *testing.T) string {
	t.Helper()
	b := make([]byte, payloadcodec.KeySize)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(b)
}

func codec(t *testing.T, spec string) *payloadcodec.Codec {
	t.Helper()
	keys, err := payloadcodec.ParseKeys(spec)
	require.NoError(t, err)
	c, err := payloadcodec.New(keys)
	require.NoError(t, err)
	return c
}

type buyer struct {
	OpenID  string
	Phone   string
	Address string
}

var someone = buyer{OpenID: "o-openid-4242", Phone: "13800138000", Address: "1 Nanjing Road, Shanghai"}

func TestRoundTripHidesTheValue(t *testing.T) {
	c := codec(t, "k1:"+secret(t))
	dc := payloadcodec.DataConverter(c)
	p, err := dc.ToPayload(someone)
	require.NoError(t, err)
	assert.Equal(t, payloadcodec.Encoding, string(p.Metadata[converter.MetadataEncoding]))
	assert.Equal(t, "k1", string(p.Metadata[payloadcodec.MetadataKeyID]))
	for _, clear := range []string{someone.OpenID, someone.Phone, "Nanjing", "json/plain"} {
		assert.False(t, bytes.Contains(p.Data, []byte(clear)), "%q in clear", clear)
	}
	var got buyer
	require.NoError(t, dc.FromPayload(p, &got))
	assert.Equal(t, someone, got)

	// Two encryptions of one value differ (a fresh nonce each).
	p2, err := dc.ToPayload(someone)
	require.NoError(t, err)
	assert.NotEqual(t, p.Data, p2.Data)
}

func TestTamperingFails(t *testing.T) {
	c := codec(t, "k1:"+secret(t)+",k0:"+secret(t))
	enc, err := c.Encode([]*commonpb.Payload{mustPayload(t)})
	require.NoError(t, err)
	for name, alter := range map[string]func(p *commonpb.Payload){
		"a ciphertext byte": func(p *commonpb.Payload) { p.Data[len(p.Data)/2] ^= 1 },
		"the nonce":         func(p *commonpb.Payload) { p.Data[0] ^= 1 },
		"the tag":           func(p *commonpb.Payload) { p.Data[len(p.Data)-1] ^= 1 },
		"truncated":         func(p *commonpb.Payload) { p.Data = p.Data[:10] },
		"the key id":        func(p *commonpb.Payload) { p.Metadata[payloadcodec.MetadataKeyID] = []byte("k0") },
	} {
		t.Run(name, func(t *testing.T) {
			p := &commonpb.Payload{Metadata: map[string][]byte{}, Data: append([]byte(nil), enc[0].Data...)}
			for k, v := range enc[0].Metadata {
				p.Metadata[k] = v
			}
			alter(p)
			_, err := c.Decode([]*commonpb.Payload{p})
			require.Error(t, err)
		})
	}
}

func TestUnknownKeyFailsClearly(t *testing.T) {
	old := codec(t, "k1:"+secret(t))
	enc, err := old.Encode([]*commonpb.Payload{mustPayload(t)})
	require.NoError(t, err)

	_, err = codec(t, "k3:"+secret(t)+",k2:"+secret(t)).Decode(enc)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `key "k1"`)
	assert.Contains(t, err.Error(), "[k3 k2]")
	assert.Contains(t, err.Error(), "TEMPORAL_PAYLOAD_KEYS")

	// A process without keys names the missing key too.
	var got buyer
	err = payloadcodec.DataConverter(codec(t, "")).FromPayload(enc[0], &got)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `key "k1"`)
}

func TestRotationDecryptsWithAnOldKey(t *testing.T) {
	k1, k2 := secret(t), secret(t)
	before := codec(t, "k1:"+k1)
	written, err := before.Encode([]*commonpb.Payload{mustPayload(t)})
	require.NoError(t, err)

	after := codec(t, "k2:"+k2+", k1:"+k1)
	assert.Equal(t, []string{"k2", "k1"}, after.KeyIDs())
	dec, err := after.Decode(written)
	require.NoError(t, err, "a payload written under k1 still reads after k2 took over")
	assert.Equal(t, mustPayload(t).Data, dec[0].Data)

	fresh, err := after.Encode([]*commonpb.Payload{mustPayload(t)})
	require.NoError(t, err)
	assert.Equal(t, "k2", string(fresh[0].Metadata[payloadcodec.MetadataKeyID]), "the first key encrypts")
}

func TestUnencryptedPayloadsPassThrough(t *testing.T) {
	c := codec(t, "k1:"+secret(t))
	clear := mustPayload(t)
	dec, err := c.Decode([]*commonpb.Payload{clear})
	require.NoError(t, err)
	assert.Same(t, clear, dec[0])

	var got buyer
	require.NoError(t, payloadcodec.DataConverter(c).FromPayload(clear, &got))
	assert.Equal(t, someone, got)

	// Without keys, Encode writes in clear.
	none := codec(t, "")
	assert.False(t, none.Encrypts())
	enc, err := none.Encode([]*commonpb.Payload{clear})
	require.NoError(t, err)
	assert.Same(t, clear, enc[0])
}

func TestParseKeysRefusesBadKeys(t *testing.T) {
	good := secret(t)
	for spec, want := range map[string]string{
		"k1":                         "want <id>:<base64",
		"k1:" + good + ",k1:" + good: "appears twice",
		"bad id:" + good:             "key id",
		"k1:not-base64!!":            "not base64",
		"k1:" + base64.StdEncoding.EncodeToString([]byte("short")): "5 bytes, want 32",
	} {
		_, err := payloadcodec.ParseKeys(spec)
		require.Error(t, err, spec)
		assert.Contains(t, err.Error(), want, spec)
		assert.False(t, strings.Contains(err.Error(), good), "the secret is never echoed")
	}
	keys, err := payloadcodec.ParseKeys(" , ")
	require.NoError(t, err)
	assert.Empty(t, keys)
}

func mustPayload(t *testing.T) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(someone)
	require.NoError(t, err)
	return p
}
