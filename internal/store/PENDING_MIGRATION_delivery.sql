-- Pending schema change of branch delivery (issue 13: delivery of goods
-- orders), for the merger to turn into a versioned migration. The GORM
-- model orders.Order carries the same columns, so AutoMigrate produces this
-- schema too. Delivery is a field of its own beside orders.status:
-- '' (ships nothing / not completed yet), awaiting_shipment, shipped,
-- received, cancelled (refunded in full before shipping).

-- ===================== PostgreSQL =====================
-- +goose Up
ALTER TABLE orders ADD COLUMN IF NOT EXISTS delivery_status varchar(24) NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN IF NOT EXISTS carrier         varchar(64) NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN IF NOT EXISTS tracking_no     varchar(64) NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN IF NOT EXISTS shipped_at      timestamptz;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS received_at     timestamptz;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS auto_received   boolean     NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE orders DROP COLUMN IF EXISTS auto_received;
ALTER TABLE orders DROP COLUMN IF EXISTS received_at;
ALTER TABLE orders DROP COLUMN IF EXISTS shipped_at;
ALTER TABLE orders DROP COLUMN IF EXISTS tracking_no;
ALTER TABLE orders DROP COLUMN IF EXISTS carrier;
ALTER TABLE orders DROP COLUMN IF EXISTS delivery_status;

-- ===================== SQLite =====================
-- (SQLite has no ADD COLUMN IF NOT EXISTS: run once, as goose does.
-- DROP COLUMN needs SQLite 3.35 or later.)
-- +goose Up
ALTER TABLE orders ADD COLUMN delivery_status varchar(24) NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN carrier         varchar(64) NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN tracking_no     varchar(64) NOT NULL DEFAULT '';
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
