package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enums "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/shopflow/orderpay/api"
	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/devtools/testenv"
	"github.com/shopflow/orderpay/internal/orders"
	"github.com/shopflow/orderpay/internal/payloadcodec"
	"github.com/shopflow/orderpay/internal/users"
)

// With TEMPORAL_PAYLOAD_KEYS set, a real order's history on the dev server
// (order and refund workflows, every event as the server stores it) holds
// no openid, phone, name, address or client IP in clear, while the order
// is paid, completed and refunded through the API as always, the API reads
// the history's start input through the codec, and an admin reads the
// payloads back through the codec endpoint.
func TestHistoryHoldsNoPersonalDataInClear(t *testing.T) {
	s := startSystem(t, options{})
	token, uid := s.login("code-encrypted-history")
	var u users.User
	require.NoError(t, s.app.DB.First(&u, uint(uid)).Error)
	require.NotEmpty(t, u.OpenID)

	orderNo := s.payAndComplete(token, coffeeID, 1, contract.ChannelWeChatJSAPI)
	require.Equal(t, http.StatusAccepted, s.api("POST", "/api/v1/admin/orders/"+orderNo+"/refund", s.admin,
		map[string]any{"refund_no": "RF-" + orderNo}).Status)
	s.awaitStatus(token, orderNo, orders.StatusRefunded)

	secrets := []string{u.OpenID, "13800000000", "Li Lei", "Nanjing", "127.0.0.1"}
	var start *commonpb.Payload
	for _, id := range []string{orderNo, contract.RefundWorkflowID("RF-" + orderNo)} {
		events := s.history(id)
		require.Greater(t, len(events), 5, id)
		encrypted := 0
		for _, ev := range events {
			raw, err := proto.Marshal(ev)
			require.NoError(t, err)
			for _, secret := range secrets {
				assert.False(t, bytes.Contains(raw, []byte(secret)), "%s event %d (%s) holds %q in clear", id, ev.GetEventId(), ev.GetEventType(), secret)
			}
			if a := ev.GetWorkflowExecutionStartedEventAttributes(); a != nil && id == orderNo {
				start = a.GetInput().GetPayloads()[0]
			}
			if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
				for _, p := range a.GetInput().GetPayloads() {
					require.Equal(t, payloadcodec.Encoding, string(p.GetMetadata()["encoding"]))
					encrypted++
				}
			}
			// Local activities (the order's own steps) and versions are markers.
			if a := ev.GetMarkerRecordedEventAttributes(); a != nil {
				for name, ps := range a.GetDetails() {
					for _, p := range ps.GetPayloads() {
						require.Equal(t, payloadcodec.Encoding, string(p.GetMetadata()["encoding"]), "marker %s detail %s", a.GetMarkerName(), name)
						encrypted++
					}
				}
			}
		}
		assert.Positive(t, encrypted, "%s: its activities' inputs and results are encrypted", id)
	}
	require.NotNil(t, start)
	assert.Equal(t, payloadcodec.Encoding, string(start.Metadata["encoding"]))
	assert.Equal(t, "k2", string(start.Metadata[payloadcodec.MetadataKeyID]), "the first key encrypts")

	// The application reads it back.
	var in contract.OrderInput
	require.NoError(t, s.app.DataConverter.FromPayload(start, &in))
	assert.Equal(t, u.OpenID, in.OpenID)
	assert.Contains(t, string(in.Address), "13800000000")

	// An operator reads it through the codec endpoint (as the Web UI does).
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{start}})
	require.NoError(t, err)
	req, err := http.NewRequest("POST", s.apiURL+api.CodecPath+"/decode", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Namespace", "default")
	req.Header.Set("Authorization", "Bearer "+s.admin)
	res, err := s.http.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", out)
	var decoded commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(out, &decoded))
	require.Len(t, decoded.Payloads, 1)
	assert.Contains(t, string(decoded.Payloads[0].Data), u.OpenID)
	assert.Contains(t, string(decoded.Payloads[0].Data), "13800000000")

	// So does the real Temporal CLI, as docs/security.md tells operators
	// (its JSON shows the decrypted start input, base64 as protojson has
	// it); without a token it shows nothing decrypted.
	show := func(auth ...string) string {
		args := append([]string{"workflow", "show", "--address", temporalAddress(t), "--namespace", "default",
			"-w", orderNo, "--output", "json", "--codec-endpoint", s.apiURL + api.CodecPath}, auth...)
		out, _ := exec.Command(testenv.TemporalCLI(t), args...).CombinedOutput()
		return string(out)
	}
	clearInput := base64.StdEncoding.EncodeToString(decoded.Payloads[0].Data)
	withToken := show("--codec-auth", "Bearer "+s.admin)
	assert.Contains(t, withToken, clearInput)
	assert.NotContains(t, withToken, base64.StdEncoding.EncodeToString([]byte(payloadcodec.Encoding)), "every payload decrypted")
	assert.NotContains(t, show(), clearInput)
}

// history reads a workflow's whole history as the server stores it.
func (s *system) history(workflowID string) []*historypb.HistoryEvent {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	it := s.app.Temporal.GetWorkflowHistory(ctx, workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []*historypb.HistoryEvent
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(s.t, err)
		events = append(events, ev)
	}
	return events
}
