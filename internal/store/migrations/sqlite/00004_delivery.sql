-- Issue 13, delivery of goods orders: a delivery state beside orders.status
-- ('' ships nothing or not completed yet, awaiting_shipment, shipped,
-- received, cancelled when refunded in full before shipping), the carrier,
-- the tracking number and the times.
-- (SQLite has no ADD COLUMN IF NOT EXISTS: run once, as goose does.
-- DROP COLUMN needs SQLite 3.35 or later.)
-- +goose Up
ALTER TABLE orders ADD COLUMN delivery_status text NOT NULL DEFAULT "";
ALTER TABLE orders ADD COLUMN carrier         text NOT NULL DEFAULT "";
ALTER TABLE orders ADD COLUMN tracking_no     text NOT NULL DEFAULT "";
ALTER TABLE orders ADD COLUMN shipped_at      datetime;
ALTER TABLE orders ADD COLUMN received_at     datetime;
ALTER TABLE orders ADD COLUMN auto_received   numeric     NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE orders DROP COLUMN auto_received;
ALTER TABLE orders DROP COLUMN received_at;
ALTER TABLE orders DROP COLUMN shipped_at;
ALTER TABLE orders DROP COLUMN tracking_no;
ALTER TABLE orders DROP COLUMN carrier;
ALTER TABLE orders DROP COLUMN delivery_status;
