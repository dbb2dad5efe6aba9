-- A database created by the release before versioned migrations: GORM's
-- AutoMigrate and the demo seed of `cmd/api` on PostgreSQL 15, a bootstrap
-- admin, and one paid, fulfilled order. pg_dump --inserts --no-owner
-- --no-privileges, with the `public.` qualifiers, SET lines and psql
-- meta-commands taken out so it loads into any schema. Kept as it is: the
-- migration tests upgrade it (migrate_test.go).

CREATE TABLE admin_audit (
    id bigint NOT NULL,
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
    user_agent character varying(255)
);

CREATE SEQUENCE admin_audit_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE admin_audit_id_seq OWNED BY admin_audit.id;

CREATE TABLE admin_tokens (
    id bigint NOT NULL,
    hash character varying(64) NOT NULL,
    admin_id bigint NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    revoked_at timestamp with time zone,
    created_at timestamp with time zone
);

CREATE SEQUENCE admin_tokens_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE admin_tokens_id_seq OWNED BY admin_tokens.id;

CREATE TABLE admins (
    id bigint NOT NULL,
    username character varying(64) NOT NULL,
    password_hash character varying(100) NOT NULL,
    role character varying(16) NOT NULL,
    disabled boolean DEFAULT false NOT NULL,
    created_by character varying(64),
    created_at timestamp with time zone,
    updated_at timestamp with time zone
);

CREATE SEQUENCE admins_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE admins_id_seq OWNED BY admins.id;

CREATE TABLE extra_payments (
    id bigint NOT NULL,
    order_no character varying(32) NOT NULL,
    out_trade_no character varying(40) NOT NULL,
    channel character varying(24) NOT NULL,
    amount_cents bigint NOT NULL,
    transaction_id character varying(64) NOT NULL,
    paid_at timestamp with time zone,
    refund_no character varying(64) NOT NULL,
    created_at timestamp with time zone
);

CREATE SEQUENCE extra_payments_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE extra_payments_id_seq OWNED BY extra_payments.id;

CREATE TABLE idempotency_keys (
    user_id bigint NOT NULL,
    idem_key character varying(100) NOT NULL,
    request_hash character varying(64) NOT NULL,
    order_no character varying(32) NOT NULL,
    created_at timestamp with time zone
);

CREATE TABLE items (
    id bigint NOT NULL,
    order_no character varying(32) NOT NULL,
    product_id bigint NOT NULL,
    name character varying(120) NOT NULL,
    image_url character varying(500),
    kind character varying(20) NOT NULL,
    membership_days bigint DEFAULT 0 NOT NULL,
    unit_price_cents bigint NOT NULL,
    quantity bigint NOT NULL,
    subtotal_cents bigint NOT NULL
);

CREATE SEQUENCE items_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE items_id_seq OWNED BY items.id;

CREATE TABLE membership_grants (
    order_no character varying(32) NOT NULL,
    user_id bigint NOT NULL,
    days bigint NOT NULL,
    starts_at timestamp with time zone NOT NULL,
    ends_at timestamp with time zone NOT NULL,
    created_at timestamp with time zone
);

CREATE TABLE membership_revocations (
    refund_no character varying(64) NOT NULL,
    order_no character varying(32) NOT NULL,
    user_id bigint NOT NULL,
    days bigint NOT NULL,
    created_at timestamp with time zone
);

CREATE TABLE order_numbers (
    order_no character varying(32) NOT NULL,
    user_id bigint NOT NULL,
    created_at timestamp with time zone
);

CREATE TABLE orders (
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
    CONSTRAINT chk_orders_amount_cents CHECK ((amount_cents >= 0))
);

CREATE TABLE payments (
    id bigint NOT NULL,
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
    updated_at timestamp with time zone
);

CREATE SEQUENCE payments_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE payments_id_seq OWNED BY payments.id;

CREATE TABLE points_entries (
    id bigint NOT NULL,
    user_id bigint NOT NULL,
    order_no character varying(32) NOT NULL,
    reason character varying(80) NOT NULL,
    points bigint NOT NULL,
    created_at timestamp with time zone
);

CREATE SEQUENCE points_entries_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE points_entries_id_seq OWNED BY points_entries.id;

CREATE TABLE products (
    id bigint NOT NULL,
    name character varying(120) NOT NULL,
    image_url character varying(500),
    price_cents bigint NOT NULL,
    stock bigint NOT NULL,
    kind character varying(20) DEFAULT 'goods'::character varying NOT NULL,
    membership_days bigint DEFAULT 0 NOT NULL,
    active boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    CONSTRAINT chk_products_price_cents CHECK ((price_cents >= 0)),
    CONSTRAINT chk_products_stock CHECK ((stock >= 0))
);

CREATE SEQUENCE products_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE products_id_seq OWNED BY products.id;

CREATE TABLE refunds (
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
    CONSTRAINT chk_refunds_amount_cents CHECK ((amount_cents >= 0))
);

CREATE TABLE stock_deductions (
    order_no character varying(32) NOT NULL,
    created_at timestamp with time zone
);

CREATE TABLE stock_returns (
    order_no character varying(32) NOT NULL,
    created_at timestamp with time zone
);

CREATE TABLE tokens (
    id bigint NOT NULL,
    hash character varying(64) NOT NULL,
    user_id bigint NOT NULL,
    scope character varying(16) NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    created_at timestamp with time zone
);

CREATE SEQUENCE tokens_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE tokens_id_seq OWNED BY tokens.id;

CREATE TABLE users (
    id bigint NOT NULL,
    open_id character varying(64) NOT NULL,
    union_id character varying(64),
    points bigint DEFAULT 0 NOT NULL,
    member_until timestamp with time zone,
    membership_version bigint DEFAULT 0 NOT NULL,
    created_at timestamp with time zone,
    updated_at timestamp with time zone
);

CREATE SEQUENCE users_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE users_id_seq OWNED BY users.id;

CREATE TABLE wallet_entries (
    id bigint NOT NULL,
    user_id bigint NOT NULL,
    ref character varying(64) NOT NULL,
    kind character varying(16) NOT NULL,
    amount_cents bigint NOT NULL,
    balance_after bigint NOT NULL,
    created_at timestamp with time zone
);

CREATE SEQUENCE wallet_entries_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE wallet_entries_id_seq OWNED BY wallet_entries.id;

CREATE TABLE wallets (
    user_id bigint NOT NULL,
    balance_cents bigint DEFAULT 0 NOT NULL,
    updated_at timestamp with time zone,
    CONSTRAINT chk_wallets_balance_cents CHECK ((balance_cents >= 0))
);

CREATE SEQUENCE wallets_user_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE wallets_user_id_seq OWNED BY wallets.user_id;

ALTER TABLE ONLY admin_audit ALTER COLUMN id SET DEFAULT nextval('admin_audit_id_seq'::regclass);

ALTER TABLE ONLY admin_tokens ALTER COLUMN id SET DEFAULT nextval('admin_tokens_id_seq'::regclass);

ALTER TABLE ONLY admins ALTER COLUMN id SET DEFAULT nextval('admins_id_seq'::regclass);

ALTER TABLE ONLY extra_payments ALTER COLUMN id SET DEFAULT nextval('extra_payments_id_seq'::regclass);

ALTER TABLE ONLY items ALTER COLUMN id SET DEFAULT nextval('items_id_seq'::regclass);

ALTER TABLE ONLY payments ALTER COLUMN id SET DEFAULT nextval('payments_id_seq'::regclass);

ALTER TABLE ONLY points_entries ALTER COLUMN id SET DEFAULT nextval('points_entries_id_seq'::regclass);

ALTER TABLE ONLY products ALTER COLUMN id SET DEFAULT nextval('products_id_seq'::regclass);

ALTER TABLE ONLY tokens ALTER COLUMN id SET DEFAULT nextval('tokens_id_seq'::regclass);

ALTER TABLE ONLY users ALTER COLUMN id SET DEFAULT nextval('users_id_seq'::regclass);

ALTER TABLE ONLY wallet_entries ALTER COLUMN id SET DEFAULT nextval('wallet_entries_id_seq'::regclass);

ALTER TABLE ONLY wallets ALTER COLUMN user_id SET DEFAULT nextval('wallets_user_id_seq'::regclass);

INSERT INTO admins VALUES (1, 'admin', '$2a$10$UralAcTAc1zzH/z3zTmgZOKezPrwuz/83qp0/cLV43sb8V2HpYXli', 'admin', false, 'bootstrap', '2026-12-01 06:08:21.93309+00', '2026-12-01 06:08:21.93309+00');

INSERT INTO items VALUES (1, '2026113010000011111111', 1, 'Yunnan Arabica Coffee Beans 500g', 'https://img.example.com/coffee.jpg', 'goods', 0, 6800, 1, 6800);

INSERT INTO orders VALUES ('2026113010000011111111', 1, 'completed', '', 'wechat_jsapi', 6800, '{"name":"Li Lei"}', 68, '2026-11-30 10:00:00+00', '2026-11-30 10:01:00+00', '2026-11-30 10:00:30+00', '2026-11-30 10:01:00+00', NULL);

INSERT INTO payments VALUES (1, '2026113010000011111111', '2026113010000011111111', 1, 1, 'wechat_jsapi', 6800, 'paid', NULL, NULL, '4200000000202611301234567890', '2026-11-30 12:00:00+00', '2026-11-30 10:00:30+00', true, NULL, '2026-11-30 10:00:00+00', '2026-11-30 10:00:30+00');

INSERT INTO points_entries VALUES (1, 1, '2026113010000011111111', 'purchase', 68, '2026-11-30 10:01:00+00');

INSERT INTO products VALUES (2, 'Ceramic Pour-over Dripper', 'https://img.example.com/dripper.jpg', 12900, 100000, 'goods', 0, true, '2026-12-01 06:08:21.84837+00', '2026-12-01 06:08:21.84837+00');
INSERT INTO products VALUES (3, 'Limited Edition Mug (flash sale)', 'https://img.example.com/mug.jpg', 1, 100, 'goods', 0, true, '2026-12-01 06:08:21.84837+00', '2026-12-01 06:08:21.84837+00');
INSERT INTO products VALUES (4, 'Gold Membership (30 days)', 'https://img.example.com/gold.png', 1990, 1000000, 'membership', 30, true, '2026-12-01 06:08:21.84837+00', '2026-12-01 06:08:21.84837+00');
INSERT INTO products VALUES (5, 'Wallet top-up ¥100', 'https://img.example.com/topup.png', 10000, 1000000, 'recharge', 0, true, '2026-12-01 06:08:21.84837+00', '2026-12-01 06:08:21.84837+00');
INSERT INTO products VALUES (6, 'Coffee sample sachet (free)', 'https://img.example.com/sample.jpg', 0, 1000, 'goods', 0, true, '2026-12-01 06:08:21.84837+00', '2026-12-01 06:08:21.84837+00');
INSERT INTO products VALUES (1, 'Yunnan Arabica Coffee Beans 500g', 'https://img.example.com/coffee.jpg', 6800, 99999, 'goods', 0, true, '2026-12-01 06:08:21.84837+00', '2026-12-01 06:08:21.84837+00');

INSERT INTO stock_deductions VALUES ('2026113010000011111111', '2026-11-30 10:00:40+00');

INSERT INTO users VALUES (1, 'legacy-openid-1', '', 68, NULL, 0, '2026-11-30 10:00:00+00', '2026-11-30 10:00:00+00');

SELECT pg_catalog.setval('admin_audit_id_seq', 1, false);

SELECT pg_catalog.setval('admin_tokens_id_seq', 1, false);

SELECT pg_catalog.setval('admins_id_seq', 1, true);

SELECT pg_catalog.setval('extra_payments_id_seq', 1, false);

SELECT pg_catalog.setval('items_id_seq', 1, true);

SELECT pg_catalog.setval('payments_id_seq', 1, true);

SELECT pg_catalog.setval('points_entries_id_seq', 1, true);

SELECT pg_catalog.setval('products_id_seq', 6, true);

SELECT pg_catalog.setval('tokens_id_seq', 1, false);

SELECT pg_catalog.setval('users_id_seq', 1, true);

SELECT pg_catalog.setval('wallet_entries_id_seq', 1, false);

SELECT pg_catalog.setval('wallets_user_id_seq', 1, false);

ALTER TABLE ONLY admin_audit
    ADD CONSTRAINT admin_audit_pkey PRIMARY KEY (id);

ALTER TABLE ONLY admin_tokens
    ADD CONSTRAINT admin_tokens_pkey PRIMARY KEY (id);

ALTER TABLE ONLY admins
    ADD CONSTRAINT admins_pkey PRIMARY KEY (id);

ALTER TABLE ONLY extra_payments
    ADD CONSTRAINT extra_payments_pkey PRIMARY KEY (id);

ALTER TABLE ONLY idempotency_keys
    ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY (user_id, idem_key);

ALTER TABLE ONLY items
    ADD CONSTRAINT items_pkey PRIMARY KEY (id);

ALTER TABLE ONLY membership_grants
    ADD CONSTRAINT membership_grants_pkey PRIMARY KEY (order_no);

ALTER TABLE ONLY membership_revocations
    ADD CONSTRAINT membership_revocations_pkey PRIMARY KEY (refund_no);

ALTER TABLE ONLY order_numbers
    ADD CONSTRAINT order_numbers_pkey PRIMARY KEY (order_no);

ALTER TABLE ONLY orders
    ADD CONSTRAINT orders_pkey PRIMARY KEY (order_no);

ALTER TABLE ONLY payments
    ADD CONSTRAINT payments_pkey PRIMARY KEY (id);

ALTER TABLE ONLY points_entries
    ADD CONSTRAINT points_entries_pkey PRIMARY KEY (id);

ALTER TABLE ONLY products
    ADD CONSTRAINT products_pkey PRIMARY KEY (id);

ALTER TABLE ONLY refunds
    ADD CONSTRAINT refunds_pkey PRIMARY KEY (refund_no);

ALTER TABLE ONLY stock_deductions
    ADD CONSTRAINT stock_deductions_pkey PRIMARY KEY (order_no);

ALTER TABLE ONLY stock_returns
    ADD CONSTRAINT stock_returns_pkey PRIMARY KEY (order_no);

ALTER TABLE ONLY tokens
    ADD CONSTRAINT tokens_pkey PRIMARY KEY (id);

ALTER TABLE ONLY users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);

ALTER TABLE ONLY wallet_entries
    ADD CONSTRAINT wallet_entries_pkey PRIMARY KEY (id);

ALTER TABLE ONLY wallets
    ADD CONSTRAINT wallets_pkey PRIMARY KEY (user_id);

CREATE INDEX idx_admin_audit_action ON admin_audit USING btree (action);

CREATE INDEX idx_admin_audit_admin_id ON admin_audit USING btree (admin_id);

CREATE INDEX idx_admin_audit_at ON admin_audit USING btree (at);

CREATE INDEX idx_admin_audit_order_no ON admin_audit USING btree (order_no);

CREATE INDEX idx_admin_tokens_admin_id ON admin_tokens USING btree (admin_id);

CREATE UNIQUE INDEX idx_admin_tokens_hash ON admin_tokens USING btree (hash);

CREATE INDEX idx_admin_tokens_revoked_at ON admin_tokens USING btree (revoked_at);

CREATE UNIQUE INDEX idx_admins_username ON admins USING btree (username);

CREATE INDEX idx_extra_payments_order_no ON extra_payments USING btree (order_no);

CREATE UNIQUE INDEX idx_extra_payments_refund_no ON extra_payments USING btree (refund_no);

CREATE UNIQUE INDEX idx_extra_payments_transaction_id ON extra_payments USING btree (transaction_id);

CREATE INDEX idx_items_order_no ON items USING btree (order_no);

CREATE INDEX idx_membership_grants_user_id ON membership_grants USING btree (user_id);

CREATE INDEX idx_membership_revocations_order_no ON membership_revocations USING btree (order_no);

CREATE INDEX idx_orders_status ON orders USING btree (status);

CREATE INDEX idx_orders_user_id ON orders USING btree (user_id);

CREATE INDEX idx_payments_expire_at ON payments USING btree (expire_at);

CREATE INDEX idx_payments_order_no ON payments USING btree (order_no);

CREATE UNIQUE INDEX idx_payments_out_trade_no ON payments USING btree (out_trade_no);

CREATE INDEX idx_payments_payable_until ON payments USING btree (payable_until);

CREATE INDEX idx_payments_status ON payments USING btree (status);

CREATE UNIQUE INDEX idx_payments_transaction_id ON payments USING btree (transaction_id);

CREATE INDEX idx_payments_user_id ON payments USING btree (user_id);

CREATE INDEX idx_points_entries_user_id ON points_entries USING btree (user_id);

CREATE UNIQUE INDEX idx_points_order_reason ON points_entries USING btree (order_no, reason);

CREATE INDEX idx_refunds_order_no ON refunds USING btree (order_no);

CREATE UNIQUE INDEX idx_tokens_hash ON tokens USING btree (hash);

CREATE INDEX idx_tokens_user_id ON tokens USING btree (user_id);

CREATE UNIQUE INDEX idx_users_open_id ON users USING btree (open_id);

CREATE INDEX idx_wallet_entries_user_id ON wallet_entries USING btree (user_id);

CREATE UNIQUE INDEX idx_wallet_ref_kind ON wallet_entries USING btree (ref, kind);

ALTER TABLE ONLY items
    ADD CONSTRAINT fk_orders_items FOREIGN KEY (order_no) REFERENCES orders(order_no);

