-- Issue 13, the shop's API: the stock ledger (operators' stock adjustments),
-- the buyers' address book, and the indexes of the keyset-paged order and
-- refund lists.
-- +goose Up
CREATE TABLE IF NOT EXISTS stock_movements (
    id          bigserial PRIMARY KEY,
    product_id  bigint       NOT NULL,
    delta       bigint       NOT NULL,
    reason      varchar(200) NOT NULL,
    admin_id    bigint       NOT NULL,
    stock_after bigint       NOT NULL,
    created_at  timestamptz
);
CREATE INDEX IF NOT EXISTS idx_stock_movements_product ON stock_movements (product_id, created_at);

CREATE TABLE IF NOT EXISTS addresses (
    id         bigserial PRIMARY KEY,
    user_id    bigint       NOT NULL,
    name       varchar(64)  NOT NULL,
    phone      varchar(20)  NOT NULL,
    region     varchar(100) NOT NULL,
    detail     varchar(200) NOT NULL,
    is_default boolean      NOT NULL DEFAULT false,
    created_at timestamptz,
    updated_at timestamptz
);
CREATE INDEX IF NOT EXISTS idx_addresses_user_id ON addresses (user_id);

-- keyset pagination of GET /api/v1/orders and GET /api/v1/admin/orders(.csv)
CREATE INDEX IF NOT EXISTS idx_orders_user_created ON orders (user_id, created_at, order_no);
CREATE INDEX IF NOT EXISTS idx_orders_created ON orders (created_at, order_no);
-- keyset pagination of GET /api/v1/admin/refunds
CREATE INDEX IF NOT EXISTS idx_refunds_created ON refunds (created_at, refund_no);

-- +goose Down
DROP INDEX IF EXISTS idx_refunds_created;
DROP INDEX IF EXISTS idx_orders_created;
DROP INDEX IF EXISTS idx_orders_user_created;
DROP TABLE IF EXISTS addresses;
DROP TABLE IF EXISTS stock_movements;

