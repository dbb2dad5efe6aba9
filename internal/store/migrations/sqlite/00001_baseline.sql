-- The schema as GORM's AutoMigrate created it up to this release (sqlite3
-- .schema of a database the API created, statement for statement), so that
-- a .data/shop.db created by an earlier release is adopted as it is: every
-- statement is IF NOT EXISTS, and on such a file this migration only
-- records version 1.

-- +goose Up
CREATE TABLE IF NOT EXISTS `products` (`id` integer PRIMARY KEY AUTOINCREMENT,`name` text NOT NULL,`image_url` text,`price_cents` integer NOT NULL,`stock` integer NOT NULL,`kind` text NOT NULL DEFAULT "goods",`membership_days` integer NOT NULL DEFAULT 0,`active` numeric NOT NULL DEFAULT true,`created_at` datetime,`updated_at` datetime,CONSTRAINT `chk_products_stock` CHECK (stock >= 0),CONSTRAINT `chk_products_price_cents` CHECK (price_cents >= 0));

CREATE TABLE IF NOT EXISTS `stock_deductions` (`order_no` text,`created_at` datetime,PRIMARY KEY (`order_no`));

CREATE TABLE IF NOT EXISTS `stock_returns` (`order_no` text,`created_at` datetime,PRIMARY KEY (`order_no`));

CREATE TABLE IF NOT EXISTS `users` (`id` integer PRIMARY KEY AUTOINCREMENT,`open_id` text NOT NULL,`union_id` text,`points` integer NOT NULL DEFAULT 0,`member_until` datetime,`membership_version` integer NOT NULL DEFAULT 0,`created_at` datetime,`updated_at` datetime);
CREATE UNIQUE INDEX IF NOT EXISTS `idx_users_open_id` ON `users`(`open_id`);

CREATE TABLE IF NOT EXISTS `tokens` (`id` integer PRIMARY KEY AUTOINCREMENT,`hash` text NOT NULL,`user_id` integer NOT NULL,`scope` text NOT NULL,`expires_at` datetime NOT NULL,`created_at` datetime);
CREATE INDEX IF NOT EXISTS `idx_tokens_user_id` ON `tokens`(`user_id`);
CREATE UNIQUE INDEX IF NOT EXISTS `idx_tokens_hash` ON `tokens`(`hash`);

CREATE TABLE IF NOT EXISTS `admins` (`id` integer PRIMARY KEY AUTOINCREMENT,`username` text NOT NULL,`password_hash` text NOT NULL,`role` text NOT NULL,`disabled` numeric NOT NULL DEFAULT false,`created_by` text,`created_at` datetime,`updated_at` datetime);
CREATE UNIQUE INDEX IF NOT EXISTS `idx_admins_username` ON `admins`(`username`);

CREATE TABLE IF NOT EXISTS `admin_tokens` (`id` integer PRIMARY KEY AUTOINCREMENT,`hash` text NOT NULL,`admin_id` integer NOT NULL,`expires_at` datetime NOT NULL,`revoked_at` datetime,`created_at` datetime);
CREATE INDEX IF NOT EXISTS `idx_admin_tokens_admin_id` ON `admin_tokens`(`admin_id`);
CREATE INDEX IF NOT EXISTS `idx_admin_tokens_revoked_at` ON `admin_tokens`(`revoked_at`);
CREATE UNIQUE INDEX IF NOT EXISTS `idx_admin_tokens_hash` ON `admin_tokens`(`hash`);

CREATE TABLE IF NOT EXISTS `admin_audit` (`id` integer PRIMARY KEY AUTOINCREMENT,`at` datetime NOT NULL,`admin_id` integer,`username` text,`role` text,`action` text NOT NULL,`order_no` text,`refund_no` text,`target_id` integer,`detail` text,`outcome` text NOT NULL,`status` integer NOT NULL,`ip` text,`user_agent` text);
CREATE INDEX IF NOT EXISTS `idx_admin_audit_action` ON `admin_audit`(`action`);
CREATE INDEX IF NOT EXISTS `idx_admin_audit_admin_id` ON `admin_audit`(`admin_id`);
CREATE INDEX IF NOT EXISTS `idx_admin_audit_at` ON `admin_audit`(`at`);
CREATE INDEX IF NOT EXISTS `idx_admin_audit_order_no` ON `admin_audit`(`order_no`);

CREATE TABLE IF NOT EXISTS `orders` (`order_no` text,`user_id` integer NOT NULL,`status` text NOT NULL,`status_reason` text,`pay_channel` text NOT NULL,`amount_cents` integer NOT NULL,`address_json` text,`points_awarded` integer NOT NULL DEFAULT 0,`created_at` datetime,`updated_at` datetime,`paid_at` datetime,`completed_at` datetime,`closed_at` datetime,PRIMARY KEY (`order_no`),CONSTRAINT `chk_orders_amount_cents` CHECK (amount_cents >= 0));
CREATE INDEX IF NOT EXISTS `idx_orders_status` ON `orders`(`status`);
CREATE INDEX IF NOT EXISTS `idx_orders_user_id` ON `orders`(`user_id`);

CREATE TABLE IF NOT EXISTS `items` (`id` integer PRIMARY KEY AUTOINCREMENT,`order_no` text NOT NULL,`product_id` integer NOT NULL,`name` text NOT NULL,`image_url` text,`kind` text NOT NULL,`membership_days` integer NOT NULL DEFAULT 0,`unit_price_cents` integer NOT NULL,`quantity` integer NOT NULL,`subtotal_cents` integer NOT NULL,CONSTRAINT `fk_orders_items` FOREIGN KEY (`order_no`) REFERENCES `orders`(`order_no`));
CREATE INDEX IF NOT EXISTS `idx_items_order_no` ON `items`(`order_no`);

CREATE TABLE IF NOT EXISTS `idempotency_keys` (`user_id` integer,`idem_key` text,`request_hash` text NOT NULL,`order_no` text NOT NULL,`created_at` datetime,PRIMARY KEY (`user_id`,`idem_key`));

CREATE TABLE IF NOT EXISTS `order_numbers` (`order_no` text,`user_id` integer NOT NULL,`created_at` datetime,PRIMARY KEY (`order_no`));

CREATE TABLE IF NOT EXISTS `payments` (`id` integer PRIMARY KEY AUTOINCREMENT,`order_no` text NOT NULL,`out_trade_no` text NOT NULL,`attempt` integer NOT NULL DEFAULT 1,`user_id` integer NOT NULL,`channel` text NOT NULL,`amount_cents` integer NOT NULL,`status` text NOT NULL,`prepay_id` text,`params_json` text,`transaction_id` text,`expire_at` datetime NOT NULL,`paid_at` datetime,`verified` numeric NOT NULL DEFAULT false,`payable_until` datetime,`created_at` datetime,`updated_at` datetime);
CREATE INDEX IF NOT EXISTS `idx_payments_expire_at` ON `payments`(`expire_at`);
CREATE INDEX IF NOT EXISTS `idx_payments_order_no` ON `payments`(`order_no`);
CREATE INDEX IF NOT EXISTS `idx_payments_payable_until` ON `payments`(`payable_until`);
CREATE INDEX IF NOT EXISTS `idx_payments_status` ON `payments`(`status`);
CREATE INDEX IF NOT EXISTS `idx_payments_user_id` ON `payments`(`user_id`);
CREATE UNIQUE INDEX IF NOT EXISTS `idx_payments_out_trade_no` ON `payments`(`out_trade_no`);
CREATE UNIQUE INDEX IF NOT EXISTS `idx_payments_transaction_id` ON `payments`(`transaction_id`);

CREATE TABLE IF NOT EXISTS `refunds` (`refund_no` text,`order_no` text NOT NULL,`out_trade_no` text NOT NULL,`channel` text NOT NULL,`amount_cents` integer NOT NULL,`total_cents` integer NOT NULL,`reason` text,`status` text NOT NULL,`provider_refund_id` text,`kind` text NOT NULL DEFAULT "order",`transaction_id` text,`failure_reason` text,`created_at` datetime,`updated_at` datetime,`refunded_at` datetime,PRIMARY KEY (`refund_no`),CONSTRAINT `chk_refunds_amount_cents` CHECK (amount_cents >= 0));
CREATE INDEX IF NOT EXISTS `idx_refunds_order_no` ON `refunds`(`order_no`);

CREATE TABLE IF NOT EXISTS `extra_payments` (`id` integer PRIMARY KEY AUTOINCREMENT,`order_no` text NOT NULL,`out_trade_no` text NOT NULL,`channel` text NOT NULL,`amount_cents` integer NOT NULL,`transaction_id` text NOT NULL,`paid_at` datetime,`refund_no` text NOT NULL,`created_at` datetime);
CREATE INDEX IF NOT EXISTS `idx_extra_payments_order_no` ON `extra_payments`(`order_no`);
CREATE UNIQUE INDEX IF NOT EXISTS `idx_extra_payments_refund_no` ON `extra_payments`(`refund_no`);
CREATE UNIQUE INDEX IF NOT EXISTS `idx_extra_payments_transaction_id` ON `extra_payments`(`transaction_id`);

CREATE TABLE IF NOT EXISTS `points_entries` (`id` integer PRIMARY KEY AUTOINCREMENT,`user_id` integer NOT NULL,`order_no` text NOT NULL,`reason` text NOT NULL,`points` integer NOT NULL,`created_at` datetime);
CREATE INDEX IF NOT EXISTS `idx_points_entries_user_id` ON `points_entries`(`user_id`);
CREATE UNIQUE INDEX IF NOT EXISTS `idx_points_order_reason` ON `points_entries`(`order_no`,`reason`);

CREATE TABLE IF NOT EXISTS `membership_grants` (`order_no` text,`user_id` integer NOT NULL,`days` integer NOT NULL,`starts_at` datetime NOT NULL,`ends_at` datetime NOT NULL,`created_at` datetime,PRIMARY KEY (`order_no`));
CREATE INDEX IF NOT EXISTS `idx_membership_grants_user_id` ON `membership_grants`(`user_id`);

CREATE TABLE IF NOT EXISTS `membership_revocations` (`refund_no` text,`order_no` text NOT NULL,`user_id` integer NOT NULL,`days` integer NOT NULL,`created_at` datetime,PRIMARY KEY (`refund_no`));
CREATE INDEX IF NOT EXISTS `idx_membership_revocations_order_no` ON `membership_revocations`(`order_no`);

CREATE TABLE IF NOT EXISTS `wallets` (`user_id` integer PRIMARY KEY AUTOINCREMENT,`balance_cents` integer NOT NULL DEFAULT 0,`updated_at` datetime,CONSTRAINT `chk_wallets_balance_cents` CHECK (balance_cents >= 0));

CREATE TABLE IF NOT EXISTS `wallet_entries` (`id` integer PRIMARY KEY AUTOINCREMENT,`user_id` integer NOT NULL,`ref` text NOT NULL,`kind` text NOT NULL,`amount_cents` integer NOT NULL,`balance_after` integer NOT NULL,`created_at` datetime);
CREATE INDEX IF NOT EXISTS `idx_wallet_entries_user_id` ON `wallet_entries`(`user_id`);
CREATE UNIQUE INDEX IF NOT EXISTS `idx_wallet_ref_kind` ON `wallet_entries`(`ref`,`kind`);

-- +goose Down
-- The baseline has no down migration: it would drop every table and the
-- records in them. `migrate down-to` stops at version 1.
