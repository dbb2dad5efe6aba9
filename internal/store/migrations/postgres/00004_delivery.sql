-- Issue 13, delivery of goods orders: a delivery state beside orders.status
-- ('' ships nothing or not completed yet, awaiting_shipment, shipped,
-- received, cancelled when refunded in full before shipping), the carrier,
-- the tracking number and the times.
-- +goose Up
ALTER TABLE orders ADD COLUMN IF NOT EXISTS delivery_status character varying(24) NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN IF NOT EXISTS carrier         character varying(64) NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN IF NOT EXISTS tracking_no     character varying(64) NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN IF NOT EXISTS shipped_at      timestamp with time zone;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS received_at     timestamp with time zone;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS auto_received   boolean     NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE orders DROP COLUMN IF EXISTS auto_received;
ALTER TABLE orders DROP COLUMN IF EXISTS received_at;
ALTER TABLE orders DROP COLUMN IF EXISTS shipped_at;
ALTER TABLE orders DROP COLUMN IF EXISTS tracking_no;
ALTER TABLE orders DROP COLUMN IF EXISTS carrier;
ALTER TABLE orders DROP COLUMN IF EXISTS delivery_status;

