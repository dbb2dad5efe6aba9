-- Issue 16: stock is reserved when an order is placed, taken when it is
-- paid and released when it ends unpaid (catalog.StockReservation).
-- +goose Up
CREATE TABLE IF NOT EXISTS stock_reservations (
    order_no character varying(32) NOT NULL,
    state character varying(16) NOT NULL,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    CONSTRAINT stock_reservations_pkey PRIMARY KEY (order_no)
);

-- +goose Down
DROP TABLE IF EXISTS stock_reservations;
