package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/shopflow/orderpay/api"
	"github.com/shopflow/orderpay/internal/admins"
	"github.com/shopflow/orderpay/internal/payloadcodec"
)

const (
	testPayloadKeys = "k2:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=,k1:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
	testUIOrigin    = "http://127.0.0.1:8233"
)

// The codec endpoint decodes encrypted payloads for admins and support
// (the Temporal Web UI's and CLI's codec server), refuses everyone else,
// answers the UI's CORS preflight before authentication, and audits each
// call.
func TestCodecEndpoint(t *testing.T) {
	s := newAPISystem(t, "TEMPORAL_PAYLOAD_KEYS", testPayloadKeys, "TEMPORAL_UI_ORIGIN", testUIOrigin)
	root := s.adminLogin(bootstrapAdmin, bootstrapPassword)
	s.createAdmin(root, "sup", "support-password-1", admins.RoleSupport)
	s.createAdmin(root, "fin", "finance-password-1", admins.RoleFinance)
	sup := s.adminLogin("sup", "support-password-1")
	fin := s.adminLogin("fin", "finance-password-1")
	buyer, _ := s.login("code-codec")

	// A payload as the worker writes it: encrypted under the first key.
	keys, err := payloadcodec.ParseKeys(testPayloadKeys)
	require.NoError(t, err)
	codec, err := payloadcodec.New(keys)
	require.NoError(t, err)
	secret := map[string]string{"openid": "o-codec-openid", "phone": "13900139000"}
	p, err := payloadcodec.DataConverter(codec).ToPayload(secret)
	require.NoError(t, err)
	require.Equal(t, payloadcodec.Encoding, string(p.Metadata["encoding"]))
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{p}})
	require.NoError(t, err)

	decode := func(token string, header ...string) response {
		t.Helper()
		return s.do("POST", api.CodecPath+"/decode", token, body, header...)
	}
	decoded := func(res response) map[string]string {
		t.Helper()
		require.Equal(t, http.StatusOK, res.Status, "decode: %s", res.Body)
		var out commonpb.Payloads
		require.NoError(t, protojson.Unmarshal(res.Body, &out))
		require.Len(t, out.Payloads, 1)
		var got map[string]string
		require.NoError(t, converter.GetDefaultDataConverter().FromPayload(out.Payloads[0], &got))
		return got
	}

	assert.Equal(t, secret, decoded(decode(root)), "admin")
	assert.Equal(t, secret, decoded(decode(sup)), "support")
	assert.Equal(t, http.StatusUnauthorized, decode("").Status, "no token")
	assert.Equal(t, http.StatusUnauthorized, decode("adm_not-a-token").Status, "unknown token")
	assert.Equal(t, http.StatusForbidden, decode(buyer).Status, "a buyer's token")
	assert.Equal(t, http.StatusForbidden, decode(fin).Status, "finance has no need for buyers' personal data")

	// Encode, then decode again: the endpoint speaks both directions.
	clear, err := converter.GetDefaultDataConverter().ToPayload(secret)
	require.NoError(t, err)
	raw, err := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{clear}})
	require.NoError(t, err)
	enc := s.do("POST", api.CodecPath+"/encode", sup, raw)
	require.Equal(t, http.StatusOK, enc.Status, "encode: %s", enc.Body)
	assert.NotContains(t, string(enc.Body), "13900139000")
	assert.Equal(t, secret, decoded(s.do("POST", api.CodecPath+"/decode", sup, enc.Body)))

	// A tampered payload is refused, not shown half-decoded.
	var tampered commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(body, &tampered))
	tampered.Payloads[0].Data[20] ^= 1
	bad, err := protojson.Marshal(&tampered)
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadRequest, s.do("POST", api.CodecPath+"/decode", root, bad).Status)

	// The Web UI's preflight carries no token: answered before auth, for
	// the configured origin only.
	pre := s.do("OPTIONS", api.CodecPath+"/decode", "", nil, "Origin", testUIOrigin,
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,content-type,x-namespace")
	assert.Equal(t, http.StatusNoContent, pre.Status, "preflight: %s", pre.Body)
	assert.Equal(t, testUIOrigin, pre.Header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, pre.Header.Get("Access-Control-Allow-Methods"), "POST")
	assert.Contains(t, pre.Header.Get("Access-Control-Allow-Headers"), "Authorization")
	other := s.do("OPTIONS", api.CodecPath+"/decode", "", nil, "Origin", "https://evil.example",
		"Access-Control-Request-Method", "POST")
	assert.Empty(t, other.Header.Get("Access-Control-Allow-Origin"), "another origin is not allowed")
	fromUI := decode(sup, "Origin", testUIOrigin, "X-Namespace", "default")
	assert.Equal(t, secret, decoded(fromUI))
	assert.Equal(t, testUIOrigin, fromUI.Header.Get("Access-Control-Allow-Origin"))

	// Who decoded what is in the audit log; refused buyers are not (no admin).
	page := s.auditPage(root, "?action="+api.ActionPayloadDecode+"&limit=100")
	byWho := map[string][]int{}
	for _, e := range page.Entries {
		byWho[e.Username] = append(byWho[e.Username], e.Status)
	}
	assert.ElementsMatch(t, []int{200, 200, 200}, byWho["sup"], "support's decodes: %v", byWho)
	assert.ElementsMatch(t, []int{200, 400}, byWho[bootstrapAdmin])
	assert.ElementsMatch(t, []int{403}, byWho["fin"])
}

// Without payload keys the endpoint still answers: clear payloads pass
// through decode (histories written before encryption was turned on).
func TestCodecEndpointWithoutKeys(t *testing.T) {
	s := newAPISystem(t, "TEMPORAL_PAYLOAD_KEYS", "", "TEMPORAL_UI_ORIGIN", "")
	root := s.adminLogin(bootstrapAdmin, bootstrapPassword)
	clear, err := converter.GetDefaultDataConverter().ToPayload("hello")
	require.NoError(t, err)
	raw, err := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{clear}})
	require.NoError(t, err)
	res := s.do("POST", api.CodecPath+"/decode", root, raw)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	var out commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(res.Body, &out))
	assert.Equal(t, clear.Data, out.Payloads[0].Data)

	// No UI origin configured: a preflight is not answered for it.
	pre := s.do("OPTIONS", api.CodecPath+"/decode", "", nil, "Origin", testUIOrigin, "Access-Control-Request-Method", "POST")
	assert.Empty(t, pre.Header.Get("Access-Control-Allow-Origin"))
}
