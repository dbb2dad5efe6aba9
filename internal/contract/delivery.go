package contract

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Delivery states of a completed goods order. They are a field of their
// own beside the order's status, which stays completed (or moves to
// refunded) as before; orders that ship nothing have no delivery ("").
const (
	DeliveryAwaitingShipment = "awaiting_shipment" // completed, waiting for the operator to ship
	DeliveryShipped          = "shipped"           // handed to the carrier, waiting for the buyer
	DeliveryReceived         = "received"          // confirmed by the buyer, or automatically after AutoReceiveAfter
	DeliveryCancelled        = "cancelled"         // refunded in full before it was shipped: nothing ships
)

// Delivery is how a goods order's delivery stands.
type Delivery struct {
	Status       string     `json:"status"`
	Carrier      string     `json:"carrier,omitempty"`
	TrackingNo   string     `json:"tracking_no,omitempty"`
	ShippedAt    *time.Time `json:"shipped_at,omitempty"`
	ReceivedAt   *time.Time `json:"received_at,omitempty"`
	AutoReceived bool       `json:"auto_received"`
	// ReceiveBy is when a shipped order is received automatically.
	ReceiveBy *time.Time `json:"receive_by,omitempty"`
}

// ShipRequest is an operator's shipment of a goods order.
type ShipRequest struct {
	Carrier    string `json:"carrier"`
	TrackingNo string `json:"tracking_no"`
}

// DeliveryStep moves a goods order's delivery record: to awaiting_shipment
// (At: completion), shipped (Carrier, TrackingNo, At), received (At, Auto
// when the timer confirmed it) or cancelled (a refunded order not shipped).
type DeliveryStep struct {
	OrderNo    string    `json:"order_no"`
	Status     string    `json:"status"`
	Carrier    string    `json:"carrier,omitempty"`
	TrackingNo string    `json:"tracking_no,omitempty"`
	At         time.Time `json:"at"`
	Auto       bool      `json:"auto,omitempty"`
}

// ErrBadShipment is a shipment whose carrier or tracking number cannot be
// stored (empty, too long, not UTF-8, control characters).
var ErrBadShipment = Kinded(ErrInvalidInput, "invalid shipment")

// MaxShipmentField is the longest carrier or tracking number, in characters
// (the size of orders.carrier and orders.tracking_no).
const MaxShipmentField = 64

// CheckShipment refuses a carrier or tracking number the order record
// cannot hold: empty, longer than MaxShipmentField characters, not UTF-8,
// or with control characters.
func CheckShipment(carrier, trackingNo string) error {
	for _, f := range []struct{ name, v string }{{"carrier", carrier}, {"tracking_no", trackingNo}} {
		switch {
		case strings.TrimSpace(f.v) == "":
			return fmt.Errorf("%w: %s is required", ErrBadShipment, f.name)
		case !utf8.ValidString(f.v):
			return fmt.Errorf("%w: %s is not valid UTF-8", ErrBadShipment, f.name)
		case utf8.RuneCountInString(f.v) > MaxShipmentField:
			return fmt.Errorf("%w: %s is longer than %d characters", ErrBadShipment, f.name, MaxShipmentField)
		case strings.IndexFunc(f.v, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
			return fmt.Errorf("%w: %s contains control characters", ErrBadShipment, f.name)
		}
	}
	return nil
}
