-- Issue 16: stock is reserved when an order is placed, taken when it is
-- paid and released when it ends unpaid (catalog.StockReservation).
-- +goose Up
CREATE TABLE IF NOT EXISTS `stock_reservations` (`order_no` text,`state` text NOT NULL,`created_at` datetime,`updated_at` datetime,PRIMARY KEY (`order_no`));

-- +goose Down
DROP TABLE IF EXISTS `stock_reservations`;
