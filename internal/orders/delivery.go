package orders

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/shopflow/orderpay/internal/contract"
)

// ErrNotShippable refuses a delivery step the order is not ready for:
// shipping an order that does not await shipment (not completed, already
// shipped, or refunded), confirming receipt of one that is not shipped.
var ErrNotShippable = contract.Kinded(contract.ErrNotShippable, "the order's delivery is not in a state that allows this")

// Delivery is how the order's delivery stands; nil for an order that
// ships nothing or is not completed yet.
func (o *Order) Delivery() *contract.Delivery {
	if o.DeliveryStatus == "" {
		return nil
	}
	return &contract.Delivery{
		Status: o.DeliveryStatus, Carrier: o.Carrier, TrackingNo: o.TrackingNo,
		ShippedAt: o.ShippedAt, ReceivedAt: o.ReceivedAt, AutoReceived: o.AutoReceived,
	}
}

// MoveDelivery moves a goods order's delivery forward: to
// awaiting_shipment (once, when it completes), shipped (from
// awaiting_shipment, while the order is completed or partially refunded)
// received (from shipped) or cancelled (from awaiting_shipment, once the
// order is refunded). A repeat of a step already taken changes
// nothing and succeeds (the same shipment again, or a receipt again);
// anything else the order is not ready for is ErrNotShippable.
func (s *Service) MoveDelivery(ctx context.Context, st contract.DeliveryStep) error {
	at := st.At.UTC()
	if st.At.IsZero() {
		at = time.Now().UTC()
	}
	q := s.db.WithContext(ctx).Model(&Order{}).Where("order_no = ?", st.OrderNo)
	var updates map[string]any
	switch st.Status {
	case contract.DeliveryAwaitingShipment:
		q = q.Where("delivery_status = ''")
		updates = map[string]any{"delivery_status": st.Status}
	case contract.DeliveryShipped:
		if err := contract.CheckShipment(st.Carrier, st.TrackingNo); err != nil {
			return err
		}
		q = q.Where("delivery_status = ? AND status IN ?", contract.DeliveryAwaitingShipment,
			[]string{StatusCompleted, StatusPartiallyRefunded})
		updates = map[string]any{"delivery_status": st.Status, "carrier": st.Carrier, "tracking_no": st.TrackingNo, "shipped_at": at}
	case contract.DeliveryReceived:
		q = q.Where("delivery_status = ?", contract.DeliveryShipped)
		updates = map[string]any{"delivery_status": st.Status, "received_at": at, "auto_received": st.Auto}
	case contract.DeliveryCancelled:
		q = q.Where("delivery_status = ? AND status = ?", contract.DeliveryAwaitingShipment, StatusRefunded)
		updates = map[string]any{"delivery_status": st.Status}
	default:
		return fmt.Errorf("%w: unknown delivery status %q", ErrNotShippable, st.Status)
	}
	updates["updated_at"] = at
	res := q.Updates(updates)
	if res.Error != nil {
		return fmt.Errorf("move delivery of %s to %s: %w", st.OrderNo, st.Status, res.Error)
	}
	if res.RowsAffected > 0 {
		return nil
	}
	return s.repeatedDelivery(ctx, st)
}

// repeatedDelivery decides a delivery step that changed no row: a repeat
// of the step the order already took succeeds; anything else is refused.
func (s *Service) repeatedDelivery(ctx context.Context, st contract.DeliveryStep) error {
	var o Order
	err := s.db.WithContext(ctx).Select("order_no", "status", "delivery_status", "carrier", "tracking_no").
		Where("order_no = ?", st.OrderNo).Take(&o).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("%w: %s", ErrNotFound, st.OrderNo)
	}
	if err != nil {
		return fmt.Errorf("check delivery of %s: %w", st.OrderNo, err)
	}
	switch {
	case st.Status == contract.DeliveryAwaitingShipment && o.DeliveryStatus != "":
		return nil // completed before: already on its way
	case st.Status == contract.DeliveryShipped && o.DeliveryStatus == contract.DeliveryShipped &&
		o.Carrier == st.Carrier && o.TrackingNo == st.TrackingNo:
		return nil
	case st.Status == contract.DeliveryReceived && o.DeliveryStatus == contract.DeliveryReceived:
		return nil
	case st.Status == contract.DeliveryCancelled && o.DeliveryStatus == contract.DeliveryCancelled:
		return nil
	}
	return fmt.Errorf("%w: order %s is %s, delivery %q", ErrNotShippable, st.OrderNo, o.Status, o.DeliveryStatus)
}
