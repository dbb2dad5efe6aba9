-- Issue 15: the decisions of Baidu's refund-audit callback, one row per
-- provider refund id (payments.RefundAudit).
-- +goose Up
CREATE TABLE IF NOT EXISTS `refund_audits` (`id` integer PRIMARY KEY AUTOINCREMENT,`provider` text NOT NULL,`provider_refund_id` text NOT NULL,`order_no` text NOT NULL,`out_trade_no` text NOT NULL,`transaction_id` text NOT NULL,`amount_cents` integer NOT NULL,`approved` numeric NOT NULL,`reason` text,`created_at` datetime,`updated_at` datetime);
CREATE INDEX IF NOT EXISTS `idx_refund_audits_order_no` ON `refund_audits`(`order_no`);
CREATE UNIQUE INDEX IF NOT EXISTS `idx_refund_audits_provider_refund_id` ON `refund_audits`(`provider_refund_id`);

-- +goose Down
DROP TABLE IF EXISTS `refund_audits`;
