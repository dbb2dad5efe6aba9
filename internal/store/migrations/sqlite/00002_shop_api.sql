-- Issue 13, the shop's API: the stock ledger (operators' stock adjustments),
-- the buyers' address book, and the indexes of the keyset-paged order and
-- refund lists.
-- +goose Up
CREATE TABLE IF NOT EXISTS stock_movements (
    id          integer PRIMARY KEY AUTOINCREMENT,
    product_id  integer      NOT NULL,
    delta       integer      NOT NULL,
    reason      text NOT NULL,
    admin_id    integer      NOT NULL,
    stock_after integer      NOT NULL,
    created_at  datetime
);
CREATE INDEX IF NOT EXISTS idx_stock_movements_product ON stock_movements (product_id, created_at);

CREATE TABLE IF NOT EXISTS addresses (
    id         integer PRIMARY KEY AUTOINCREMENT,
    user_id    integer      NOT NULL,
    name       text  NOT NULL,
    phone      text  NOT NULL,
    region     text NOT NULL,
    detail     text NOT NULL,
    is_default numeric      NOT NULL DEFAULT false,
    created_at datetime,
    updated_at datetime
);
CREATE INDEX IF NOT EXISTS idx_addresses_user_id ON addresses (user_id);

CREATE INDEX IF NOT EXISTS idx_orders_user_created ON orders (user_id, created_at, order_no);
CREATE INDEX IF NOT EXISTS idx_orders_created ON orders (created_at, order_no);
CREATE INDEX IF NOT EXISTS idx_refunds_created ON refunds (created_at, refund_no);

-- +goose Down
DROP INDEX IF EXISTS idx_refunds_created;
DROP INDEX IF EXISTS idx_orders_created;
DROP INDEX IF EXISTS idx_orders_user_created;
DROP TABLE IF EXISTS addresses;
DROP TABLE IF EXISTS stock_movements;
