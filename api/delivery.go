package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"github.com/gofiber/fiber/v2"
	"go.temporal.io/sdk/client"

	"github.com/shopflow/orderpay/internal/contract"
	"github.com/shopflow/orderpay/internal/orders"
)

// ShipRequestBody is POST /api/v1/admin/orders/{order_no}/ship.
type ShipRequestBody struct {
	Carrier    string `json:"carrier"`
	TrackingNo string `json:"tracking_no"`
}

// DeliveryResponse answers a shipment or a receipt: the order's status
// (unchanged: completed, or partially refunded) and its delivery.
type DeliveryResponse struct {
	OrderNo  string             `json:"order_no"`
	Status   string             `json:"status"`
	Delivery *contract.Delivery `json:"delivery"`
}

// shipOrder records an operator's shipment of a completed goods order: the
// order workflow's ship update, whose validator refuses an order not
// awaiting shipment (409) and whose record refuses a refunded one (409).
// A retry of the same shipment gets the same answer (the update id is the
// shipment's).
func (s *Server) shipOrder(c *fiber.Ctx) error {
	var req ShipRequestBody
	// The JSON decoder would turn bytes that are not UTF-8 into U+FFFD and
	// store a carrier nobody sent: refuse them as sent.
	if err := checkRawText("body", c.Body()); err != nil {
		return fail(c, fiber.StatusBadRequest, CodeBadRequest, err.Error())
	}
	if err := decodeJSON(c, &req); err != nil {
		return fail(c, fiber.StatusBadRequest, CodeInvalidJSON, err.Error())
	}
	if err := contract.CheckShipment(req.Carrier, req.TrackingNo); err != nil {
		return fail(c, fiber.StatusBadRequest, CodeBadRequest, message(err))
	}
	note(c).detail = "carrier=" + req.Carrier + " tracking_no=" + req.TrackingNo
	ctx, cancel := s.ctx(c)
	defer cancel()
	o, err := s.Orders.Get(ctx, c.Params("order_no"))
	if err != nil {
		return s.orderError(c, err)
	}
	sum := sha256.Sum256([]byte(req.Carrier + "\x00" + req.TrackingNo))
	var d contract.Delivery
	if err := s.updateOrder(ctx, client.UpdateWorkflowOptions{
		WorkflowID: o.OrderNo,
		UpdateID:   "ship-" + hex.EncodeToString(sum[:12]),
		UpdateName: contract.UpdateShip,
		Args:       []any{contract.ShipRequest{Carrier: req.Carrier, TrackingNo: req.TrackingNo}},
	}, &d); err != nil {
		return s.updateError(c, o, err)
	}
	return c.JSON(DeliveryResponse{OrderNo: o.OrderNo, Status: o.Status, Delivery: &d})
}

// receiveOrder records the buyer's confirmation that a shipped order
// arrived (409 unless shipped and not yet received; 404 for another
// buyer's order). A retry gets the same answer.
func (s *Server) receiveOrder(c *fiber.Ctx) error {
	ctx, cancel := s.ctx(c)
	defer cancel()
	o, err := s.ownOrder(c, ctx)
	if err != nil {
		return s.orderError(c, err)
	}
	var d contract.Delivery
	if err := s.updateOrder(ctx, client.UpdateWorkflowOptions{
		WorkflowID: o.OrderNo,
		UpdateID:   contract.UpdateConfirmReceipt,
		UpdateName: contract.UpdateConfirmReceipt,
	}, &d); err != nil {
		return s.updateError(c, o, err)
	}
	return c.JSON(DeliveryResponse{OrderNo: o.OrderNo, Status: o.Status, Delivery: &d})
}

// completedOrder reports whether a retried POST's order is completed (or
// refunded after completing): answered as it stands, 200 without pay
// parameters, like an order whose workflow has ended — a goods order's
// workflow stays open through its delivery, so Update-with-Start would
// otherwise attach to it and hand out its old pay parameters.
func (s *Server) completedOrder(ctx context.Context, orderNo string) bool {
	status, _, err := s.Orders.Summary(ctx, orderNo)
	if err != nil {
		return false
	}
	switch status {
	case orders.StatusCompleted, orders.StatusPartiallyRefunded, orders.StatusRefunded:
		return true
	}
	return false
}
