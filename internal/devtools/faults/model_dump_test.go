//go:build faults

package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"
	"gorm.io/gorm"
)

// dumpOrders writes, when MODEL_DUMP names a directory, the database rows
// of each order (orders, payments, refunds, extra payments, stock
// reservations) and the histories of its workflows (the order's and every
// workflow listed with its OrderNo), before the test's schema and Temporal
// dev server are gone: what a discrepancy needs to be explained.
// FAULTS_KEEP_LOGS keeps the application log alongside.
func dumpOrders(t *testing.T, db *gorm.DB, tc client.Client, orderNos []string) {
	dir := os.Getenv("MODEL_DUMP")
	if dir == "" {
		return
	}
	_ = os.MkdirAll(dir, 0o755)
	ctx := context.Background()
	for _, no := range orderNos {
		out := map[string]any{}
		for _, tbl := range []string{"orders", "payments", "refunds", "extra_payments", "stock_reservations"} {
			var rows []map[string]any
			if err := db.Raw(fmt.Sprintf("SELECT * FROM %s WHERE order_no = ?", tbl), no).Scan(&rows).Error; err != nil {
				out[tbl] = err.Error()
				continue
			}
			out[tbl] = rows
		}
		raw, _ := json.MarshalIndent(out, "", "  ")
		_ = os.WriteFile(filepath.Join(dir, no+"-rows.json"), raw, 0o644)
		resp, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default", Query: fmt.Sprintf("OrderNo = '%s'", no)})
		if err != nil {
			t.Logf("dump: list %s: %v", no, err)
			continue
		}
		ids := map[string]bool{no: true}
		for _, e := range resp.Executions {
			ids[e.Execution.WorkflowId] = true
		}
		for id := range ids {
			it := tc.GetWorkflowHistory(ctx, id, "", false, 0)
			f, err := os.Create(filepath.Join(dir, id+"-history.jsonl"))
			if err != nil {
				continue
			}
			for it.HasNext() {
				ev, err := it.Next()
				if err != nil {
					fmt.Fprintf(f, "error: %v\n", err)
					break
				}
				b, _ := protojson.Marshal(ev)
				_, _ = f.Write(append(b, '\n'))
			}
			f.Close()
		}
	}
	t.Logf("dump: %d orders to %s", len(orderNos), dir)
}
