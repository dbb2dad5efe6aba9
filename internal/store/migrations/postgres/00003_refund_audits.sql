-- Issue 15: the decisions of Baidu's refund-audit callback, one row per
-- provider refund id (payments.RefundAudit).
-- +goose Up
CREATE TABLE IF NOT EXISTS refund_audits (
    id bigserial NOT NULL,
    provider character varying(24) NOT NULL,
    provider_refund_id character varying(64) NOT NULL,
    order_no character varying(32) NOT NULL,
    out_trade_no character varying(40) NOT NULL,
    transaction_id character varying(64) NOT NULL,
    amount_cents bigint NOT NULL,
    approved boolean NOT NULL,
    reason character varying(256),
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    CONSTRAINT refund_audits_pkey PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS idx_refund_audits_order_no ON refund_audits USING btree (order_no);
CREATE UNIQUE INDEX IF NOT EXISTS idx_refund_audits_provider_refund_id ON refund_audits USING btree (provider_refund_id);

-- +goose Down
DROP TABLE IF EXISTS refund_audits;
