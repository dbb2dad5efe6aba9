package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopflow/orderpay/internal/contract"
)

// logBuffer collects the log lines of every goroutine.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) lines(t *testing.T) []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "every log line is JSON: %s", sc.Text())
		out = append(out, m)
	}
	require.NoError(t, sc.Err())
	return out
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// An order placed, paid and refunded, logged at debug as JSON: every line
// parses; every request line carries its request id (the caller's when it
// sent a sane one); every line about the order — the API's, the
// activities' and the workflows', the Temporal SDK's own — carries its
// order_no (any line that names the order does); no line holds the buyer's openid, token, phone, name or
// address, nor the admin's password or token.
func TestLogsAreJSONWithRequestIDAndOrderNoAndNoPersonalData(t *testing.T) {
	logs := &logBuffer{}
	s := startSystem(t, options{logs: logs})

	const (
		phone   = "13912345678"
		name    = "Han Meimei"
		address = "88 Secret Garden Lane, Hangzhou"
	)
	token, _ := s.login("code-logs")
	res := s.api("POST", "/api/v1/orders", token, map[string]any{
		"items":       []map[string]any{{"product_id": coffeeID, "quantity": 1}},
		"pay_channel": contract.ChannelWeChatJSAPI,
		"address":     map[string]any{"name": name, "phone": phone, "detail": address},
	}, "X-Request-Id", "client-req-0001")
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	orderNo := res.JSON(t)["order_no"].(string)
	require.Equal(t, http.StatusOK, s.sandboxPay(orderNo).Status)
	s.awaitStatus(token, orderNo, contract.StatusCompleted)
	// A refund numbered after the order: its workflow (refund-<order>_R1)
	// runs regular activities, whose lines must name the order too (the
	// order's own workflow runs local activities only).
	refund := s.api("POST", "/api/v1/admin/orders/"+orderNo+"/refund", s.admin, map[string]any{"reason": "logs test", "refund_no": orderNo + "_R1"})
	require.Contains(t, []int{http.StatusOK, http.StatusCreated, http.StatusAccepted}, refund.Status, string(refund.Body))
	s.awaitStatus(token, orderNo, contract.StatusRefunded)

	// An insane request id is replaced; an error body names the id.
	bad := s.api("GET", "/api/v1/orders/"+orderNo, "", nil, "X-Request-Id", "bad id\u00e9")
	require.Equal(t, http.StatusUnauthorized, bad.Status)
	errID, _ := bad.JSON(t)["error"].(map[string]any)["request_id"].(string)
	require.Len(t, errID, 32, "a new id replaces an insane one: %s", bad.Body)
	var refused map[string]any
	for _, l := range logs.lines(t) {
		if l["request_id"] == errID && l["msg"] == "request" {
			refused = l
		}
	}
	require.NotNil(t, refused, "the refused request is logged")
	assert.Equal(t, orderNo, refused["order_no"], "a request refused before its route still names the order of its path")

	var openID string
	require.NoError(t, s.app.DB.Table("users").Select("open_id").Where("id = (SELECT MAX(id) FROM users)").Scan(&openID).Error)
	require.NotEmpty(t, openID)

	lines := logs.lines(t)
	var requests, orderRequests, workerLines, activityLines, workflowLines int
	seenIDs := map[string]bool{}
	for _, l := range lines {
		if _, api := l["route"]; l["msg"] == "request" && api { // the API's (the sandbox logs its own)
			requests++
			id, _ := l["request_id"].(string)
			require.NotEmpty(t, id, "request line without request_id: %v", l)
			seenIDs[id] = true
			if strings.Contains(l["route"].(string), "order") || l["route"] == "/api/v1/notify/wechatpay" {
				assert.Equal(t, orderNo, l["order_no"], "a request about the order names it: %v", l)
				orderRequests++
			}
		}
		wid, _ := l["WorkflowID"].(string)
		if no, ok := contract.OrderNoOfWorkflow(wid); ok && no == orderNo {
			assert.Equal(t, orderNo, l["order_no"], "a line about the order's workflows names the order: %v", l)
			workerLines++
			if _, ok := l["ActivityType"]; ok {
				activityLines++
			}
			if _, ok := l["WorkflowType"]; ok {
				workflowLines++
			}
		}
	}
	assert.True(t, seenIDs["client-req-0001"], "the caller's sane X-Request-Id is kept")
	assert.True(t, seenIDs[errID], "the error body's request id is the logged one")
	assert.GreaterOrEqual(t, orderRequests, 3, "order requests: create, polls, notify, refund")
	assert.Positive(t, activityLines, "activity lines about the order")
	assert.Positive(t, workflowLines, "workflow lines about the order")
	t.Logf("%d lines, %d requests (%d about the order), %d worker lines about the order (%d activity, %d workflow)",
		len(lines), requests, orderRequests, workerLines, activityLines, workflowLines)

	all := logs.String()
	for _, line := range strings.Split(strings.TrimSpace(all), "\n") {
		// (The sandbox's access lines of its test controls name paths only.)
		if strings.Contains(line, orderNo) && !strings.Contains(line, `"path":"/sandbox/`) {
			assert.Contains(t, line, `"order_no":"`+orderNo+`"`, "a line naming the order carries order_no")
		}
	}
	for what, v := range map[string]string{"phone": phone, "name": name, "address": address, "openid": openID,
		"token": token, "admin token": s.admin, "admin password": bootstrapPassword} {
		assert.NotContains(t, all, v, "the log holds the buyer's or admin's %s", what)
	}
}
