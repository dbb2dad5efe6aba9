-- The schema as GORM's AutoMigrate created it up to this release (pg_dump
-- --schema-only of a database the API created), so that a database created
-- by an earlier release is adopted as it is: every statement is IF NOT
-- EXISTS, and on such a database this migration only records version 1.
-- Names are unqualified: the tables go into the connection's search_path.

-- +goose Up
CREATE TABLE IF NOT EXISTS products (
    id bigserial NOT NULL,
    name character varying(120) NOT NULL,
    image_url character varying(500),
    price_cents bigint NOT NULL,
    stock bigint NOT NULL,
    kind character varying(20) DEFAULT 'goods'::character varying NOT NULL,
    membership_days bigint DEFAULT 0 NOT NULL,
    active boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    CONSTRAINT products_pkey PRIMARY KEY (id),
    CONSTRAINT chk_products_stock CHECK (stock >= 0),
    CONSTRAINT chk_products_price_cents CHECK (price_cents >= 0)
);

CREATE TABLE IF NOT EXISTS stock_deductions (
    order_no character varying(32) NOT NULL,
    created_at timestamp with time zone,
    CONSTRAINT stock_deductions_pkey PRIMARY KEY (order_no)
);

CREATE TABLE IF NOT EXISTS stock_returns (
    order_no character varying(32) NOT NULL,
    created_at timestamp with time zone,
    CONSTRAINT stock_returns_pkey PRIMARY KEY (order_no)
);

CREATE TABLE IF NOT EXISTS users (
    id bigserial NOT NULL,
    open_id character varying(64) NOT NULL,
    union_id character varying(64),
    points bigint DEFAULT 0 NOT NULL,
    member_until timestamp with time zone,
    membership_version bigint DEFAULT 0 NOT NULL,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    CONSTRAINT users_pkey PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_users_open_id ON users USING btree (open_id);

CREATE TABLE IF NOT EXISTS tokens (
    id bigserial NOT NULL,
    hash character varying(64) NOT NULL,
    user_id bigint NOT NULL,
    scope character varying(16) NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    created_at timestamp with time zone,
    CONSTRAINT tokens_pkey PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_tokens_hash ON tokens USING btree (hash);
CREATE INDEX IF NOT EXISTS idx_tokens_user_id ON tokens USING btree (user_id);

CREATE TABLE IF NOT EXISTS admins (
    id bigserial NOT NULL,
    username character varying(64) NOT NULL,
    password_hash character varying(100) NOT NULL,
    role character varying(16) NOT NULL,
    disabled boolean DEFAULT false NOT NULL,
    created_by character varying(64),
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    CONSTRAINT admins_pkey PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_admins_username ON admins USING btree (username);

CREATE TABLE IF NOT EXISTS admin_tokens (
    id bigserial NOT NULL,
    hash character varying(64) NOT NULL,
    admin_id bigint NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    revoked_at timestamp with time zone,
    created_at timestamp with time zone,
    CONSTRAINT admin_tokens_pkey PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_admin_tokens_hash ON admin_tokens USING btree (hash);
CREATE INDEX IF NOT EXISTS idx_admin_tokens_admin_id ON admin_tokens USING btree (admin_id);
CREATE INDEX IF NOT EXISTS idx_admin_tokens_revoked_at ON admin_tokens USING btree (revoked_at);

CREATE TABLE IF NOT EXISTS admin_audit (
    id bigserial NOT NULL,
    at timestamp with time zone NOT NULL,
    admin_id bigint,
    username character varying(64),
    role character varying(16),
    action character varying(48) NOT NULL,
    order_no character varying(64),
    refund_no character varying(64),
    target_id bigint,
    detail character varying(500),
    outcome character varying(16) NOT NULL,
    status bigint NOT NULL,
    ip character varying(64),
    user_agent character varying(255),
    CONSTRAINT admin_audit_pkey PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS idx_admin_audit_at ON admin_audit USING btree (at);
CREATE INDEX IF NOT EXISTS idx_admin_audit_admin_id ON admin_audit USING btree (admin_id);
CREATE INDEX IF NOT EXISTS idx_admin_audit_action ON admin_audit USING btree (action);
CREATE INDEX IF NOT EXISTS idx_admin_audit_order_no ON admin_audit USING btree (order_no);

CREATE TABLE IF NOT EXISTS orders (
    order_no character varying(32) NOT NULL,
    user_id bigint NOT NULL,
    status character varying(24) NOT NULL,
    status_reason character varying(200),
    pay_channel character varying(24) NOT NULL,
    amount_cents bigint NOT NULL,
    address_json text,
    points_awarded bigint DEFAULT 0 NOT NULL,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    paid_at timestamp with time zone,
    completed_at timestamp with time zone,
    closed_at timestamp with time zone,
    CONSTRAINT orders_pkey PRIMARY KEY (order_no),
    CONSTRAINT chk_orders_amount_cents CHECK (amount_cents >= 0)
);
CREATE INDEX IF NOT EXISTS idx_orders_user_id ON orders USING btree (user_id);
CREATE INDEX IF NOT EXISTS idx_orders_status ON orders USING btree (status);

CREATE TABLE IF NOT EXISTS items (
    id bigserial NOT NULL,
    order_no character varying(32) NOT NULL,
    product_id bigint NOT NULL,
    name character varying(120) NOT NULL,
    image_url character varying(500),
    kind character varying(20) NOT NULL,
    membership_days bigint DEFAULT 0 NOT NULL,
    unit_price_cents bigint NOT NULL,
    quantity bigint NOT NULL,
    subtotal_cents bigint NOT NULL,
    CONSTRAINT items_pkey PRIMARY KEY (id),
    CONSTRAINT fk_orders_items FOREIGN KEY (order_no) REFERENCES orders (order_no)
);
CREATE INDEX IF NOT EXISTS idx_items_order_no ON items USING btree (order_no);

CREATE TABLE IF NOT EXISTS idempotency_keys (
    user_id bigint NOT NULL,
    idem_key character varying(100) NOT NULL,
    request_hash character varying(64) NOT NULL,
    order_no character varying(32) NOT NULL,
    created_at timestamp with time zone,
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (user_id, idem_key)
);

CREATE TABLE IF NOT EXISTS order_numbers (
    order_no character varying(32) NOT NULL,
    user_id bigint NOT NULL,
    created_at timestamp with time zone,
    CONSTRAINT order_numbers_pkey PRIMARY KEY (order_no)
);

CREATE TABLE IF NOT EXISTS payments (
    id bigserial NOT NULL,
    order_no character varying(32) NOT NULL,
    out_trade_no character varying(40) NOT NULL,
    attempt bigint DEFAULT 1 NOT NULL,
    user_id bigint NOT NULL,
    channel character varying(24) NOT NULL,
    amount_cents bigint NOT NULL,
    status character varying(16) NOT NULL,
    prepay_id character varying(128),
    params_json text,
    transaction_id character varying(64),
    expire_at timestamp with time zone NOT NULL,
    paid_at timestamp with time zone,
    verified boolean DEFAULT false NOT NULL,
    payable_until timestamp with time zone,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    CONSTRAINT payments_pkey PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS idx_payments_order_no ON payments USING btree (order_no);
CREATE UNIQUE INDEX IF NOT EXISTS idx_payments_out_trade_no ON payments USING btree (out_trade_no);
CREATE INDEX IF NOT EXISTS idx_payments_user_id ON payments USING btree (user_id);
CREATE INDEX IF NOT EXISTS idx_payments_status ON payments USING btree (status);
CREATE UNIQUE INDEX IF NOT EXISTS idx_payments_transaction_id ON payments USING btree (transaction_id);
CREATE INDEX IF NOT EXISTS idx_payments_expire_at ON payments USING btree (expire_at);
CREATE INDEX IF NOT EXISTS idx_payments_payable_until ON payments USING btree (payable_until);

CREATE TABLE IF NOT EXISTS refunds (
    refund_no character varying(64) NOT NULL,
    order_no character varying(32) NOT NULL,
    out_trade_no character varying(40) NOT NULL,
    channel character varying(24) NOT NULL,
    amount_cents bigint NOT NULL,
    total_cents bigint NOT NULL,
    reason character varying(200),
    status character varying(16) NOT NULL,
    provider_refund_id character varying(64),
    kind character varying(8) DEFAULT 'order'::character varying NOT NULL,
    transaction_id character varying(64),
    failure_reason character varying(200),
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    refunded_at timestamp with time zone,
    CONSTRAINT refunds_pkey PRIMARY KEY (refund_no),
    CONSTRAINT chk_refunds_amount_cents CHECK (amount_cents >= 0)
);
CREATE INDEX IF NOT EXISTS idx_refunds_order_no ON refunds USING btree (order_no);

CREATE TABLE IF NOT EXISTS extra_payments (
    id bigserial NOT NULL,
    order_no character varying(32) NOT NULL,
    out_trade_no character varying(40) NOT NULL,
    channel character varying(24) NOT NULL,
    amount_cents bigint NOT NULL,
    transaction_id character varying(64) NOT NULL,
    paid_at timestamp with time zone,
    refund_no character varying(64) NOT NULL,
    created_at timestamp with time zone,
    CONSTRAINT extra_payments_pkey PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS idx_extra_payments_order_no ON extra_payments USING btree (order_no);
CREATE UNIQUE INDEX IF NOT EXISTS idx_extra_payments_transaction_id ON extra_payments USING btree (transaction_id);
CREATE UNIQUE INDEX IF NOT EXISTS idx_extra_payments_refund_no ON extra_payments USING btree (refund_no);

CREATE TABLE IF NOT EXISTS points_entries (
    id bigserial NOT NULL,
    user_id bigint NOT NULL,
    order_no character varying(32) NOT NULL,
    reason character varying(80) NOT NULL,
    points bigint NOT NULL,
    created_at timestamp with time zone,
    CONSTRAINT points_entries_pkey PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS idx_points_entries_user_id ON points_entries USING btree (user_id);
CREATE UNIQUE INDEX IF NOT EXISTS idx_points_order_reason ON points_entries USING btree (order_no, reason);

CREATE TABLE IF NOT EXISTS membership_grants (
    order_no character varying(32) NOT NULL,
    user_id bigint NOT NULL,
    days bigint NOT NULL,
    starts_at timestamp with time zone NOT NULL,
    ends_at timestamp with time zone NOT NULL,
    created_at timestamp with time zone,
    CONSTRAINT membership_grants_pkey PRIMARY KEY (order_no)
);
CREATE INDEX IF NOT EXISTS idx_membership_grants_user_id ON membership_grants USING btree (user_id);

CREATE TABLE IF NOT EXISTS membership_revocations (
    refund_no character varying(64) NOT NULL,
    order_no character varying(32) NOT NULL,
    user_id bigint NOT NULL,
    days bigint NOT NULL,
    created_at timestamp with time zone,
    CONSTRAINT membership_revocations_pkey PRIMARY KEY (refund_no)
);
CREATE INDEX IF NOT EXISTS idx_membership_revocations_order_no ON membership_revocations USING btree (order_no);

CREATE TABLE IF NOT EXISTS wallets (
    user_id bigserial NOT NULL,
    balance_cents bigint DEFAULT 0 NOT NULL,
    updated_at timestamp with time zone,
    CONSTRAINT wallets_pkey PRIMARY KEY (user_id),
    CONSTRAINT chk_wallets_balance_cents CHECK (balance_cents >= 0)
);

CREATE TABLE IF NOT EXISTS wallet_entries (
    id bigserial NOT NULL,
    user_id bigint NOT NULL,
    ref character varying(64) NOT NULL,
    kind character varying(16) NOT NULL,
    amount_cents bigint NOT NULL,
    balance_after bigint NOT NULL,
    created_at timestamp with time zone,
    CONSTRAINT wallet_entries_pkey PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS idx_wallet_entries_user_id ON wallet_entries USING btree (user_id);
CREATE UNIQUE INDEX IF NOT EXISTS idx_wallet_ref_kind ON wallet_entries USING btree (ref, kind);

-- +goose Down
-- The baseline has no down migration: it would drop every table and the
-- records in them. `migrate down-to` stops at version 1.
