#!/usr/bin/env bash
# Runs the whole system on one machine: migrates the database (bin/migrate),
# then starts the Temporal dev server (SQLite, WAL), the provider sandbox,
# the API and the worker. Data lives in .data/ and survives restarts;
# Ctrl-C stops everything this script started.
#
# The API and worker get their merchant configuration (WECHAT_*, WECHATV2_*,
# ALIPAY_*, BAIDU_*: the sandbox's test merchants and its URL) from
# $SANDBOX_DIR/merchant.env, which the sandbox writes on start; variables
# already set in the environment win over the file.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA_DIR=${DATA_DIR:-.data}
TEMPORAL=${TEMPORAL_CLI:-$(go env GOPATH)/bin/temporal}
TEMPORAL_PORT=${TEMPORAL_PORT:-7233}
TEMPORAL_UI_PORT=${TEMPORAL_UI_PORT:-8233}
# Development mode (internal/config): local http URLs, the sandbox's hosts
# and demo products are allowed; the binaries default to production.
export ORDERPAY_ENV=${ORDERPAY_ENV:-development}
export HTTP_ADDR=${HTTP_ADDR:-127.0.0.1:8080}
export SANDBOX_ADDR=${SANDBOX_ADDR:-127.0.0.1:8090}
export WORKER_HTTP_ADDR=${WORKER_HTTP_ADDR:-127.0.0.1:8081}
export SANDBOX_DIR=${SANDBOX_DIR:-$DATA_DIR/sandbox}
export TEMPORAL_ADDRESS=${TEMPORAL_ADDRESS:-127.0.0.1:$TEMPORAL_PORT}
export SANDBOX_URL=${SANDBOX_URL:-http://$SANDBOX_ADDR}
export PUBLIC_API_URL=${PUBLIC_API_URL:-http://$HTTP_ADDR}
export WECHAT_NOTIFY_URL=${WECHAT_NOTIFY_URL:-$PUBLIC_API_URL/api/v1/notify/wechatpay}
export WECHAT_REFUND_NOTIFY_URL=${WECHAT_REFUND_NOTIFY_URL:-$PUBLIC_API_URL/api/v1/notify/wechatpay/refund}
# The bootstrap admin account, created on the first start (POST
# /api/v1/admin/login); a dev password, never used outside `make run`.
export ADMIN_BOOTSTRAP_USER=${ADMIN_BOOTSTRAP_USER:-admin}
export ADMIN_BOOTSTRAP_PASSWORD=${ADMIN_BOOTSTRAP_PASSWORD:-dev-admin-password}
export SQLITE_PATH=${SQLITE_PATH:-$DATA_DIR/shop.db}
LOGS=$DATA_DIR/logs
# Data, logs and the sandbox's keys hold personal data and secrets: owner only.
umask 077
mkdir -p "$LOGS"
chmod 700 "$DATA_DIR" "$LOGS"
chmod 600 "$LOGS"/*.log "$DATA_DIR"/*.db* 2>/dev/null || true

# Temporal payloads (the buyer's openid, phone, address, IP) are encrypted
# with a dev key generated once into $DATA_DIR/payload-keys (0600) and kept
# across runs, so the histories of earlier runs stay readable. A
# TEMPORAL_PAYLOAD_KEYS or TEMPORAL_PAYLOAD_KEYS_FILE you set wins.
if [[ -z "${TEMPORAL_PAYLOAD_KEYS:-}" && -z "${TEMPORAL_PAYLOAD_KEYS_FILE:-}" ]]; then
  PAYLOAD_KEYS_FILE=$DATA_DIR/payload-keys
  if [[ ! -s "$PAYLOAD_KEYS_FILE" ]]; then
    printf 'dev1:%s\n' "$(head -c 32 /dev/urandom | base64 | tr -d '\n')" >"$PAYLOAD_KEYS_FILE"
  fi
  chmod 600 "$PAYLOAD_KEYS_FILE"
  export TEMPORAL_PAYLOAD_KEYS_FILE=$PAYLOAD_KEYS_FILE
fi
# The Web UI decodes them through the API's codec endpoint, called from the
# UI's origin with the browser's admin session cookie (sign in at
# SIGNIN_PAGE; role admin or support; docs/operations.md). start-dev has no
# flag for the UI's "include cross-origin credentials": the operator ticks
# it once in the UI's Codec Server settings.
export TEMPORAL_UI_ORIGIN=${TEMPORAL_UI_ORIGIN:-http://127.0.0.1:$TEMPORAL_UI_PORT}
CODEC_ENDPOINT=$PUBLIC_API_URL/api/v1/admin/codec
SIGNIN_PAGE=$PUBLIC_API_URL/api/v1/admin/signin
# H5 pages on any origin may call the buyer API (bearer tokens, no cookies).
export CORS_ALLOWED_ORIGINS=${CORS_ALLOWED_ORIGINS:-*}

CLEANUP_MESSAGE="stopping…"
# shellcheck source=deploy/lib.sh
source deploy/lib.sh
require_free copy "127.0.0.1:$TEMPORAL_PORT" "$SANDBOX_ADDR" "$HTTP_ADDR" "$WORKER_HTTP_ADDR"

# The schema first: the API and the worker refuse a database that lacks a
# migration (docs/operations.md, "Schema migrations"). An existing
# $SQLITE_PATH from before versioned migrations is adopted as it is.
./bin/migrate up 2>&1 | tee -a "$LOGS/migrate.log"

# The dev server has one history shard and reads its task queues at most 20
# times a second by default: every order step then waits up to 50 ms for the
# next read (place-order p50 145 ms at one buyer; 34-40 ms with these);
# docs/operations.md asks the same of a self-hosted cluster. Its
# garbage collector and history cache are set in deploy/lib.sh: their
# collections were the orders' latency tail.
GOGC=$DEVSERVER_GOGC "$TEMPORAL" server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT" \
  --db-filename "$DATA_DIR/temporal.db" \
  --dynamic-config-value history.transferProcessorMaxPollRPS=1000 \
  --dynamic-config-value history.timerProcessorMaxPollRPS=1000 \
  --dynamic-config-value history.visibilityProcessorMaxPollRPS=1000 \
  --dynamic-config-value history.hostLevelCacheMaxSize="$DEVSERVER_HISTORY_CACHE" \
  --sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal \
  --search-attribute OrderNo=Keyword --search-attribute UserId=Int \
  --search-attribute OrderStatus=Keyword --search-attribute PayChannel=Keyword \
  --ui-codec-endpoint "$CODEC_ENDPOINT" \
  --log-level warn >"$LOGS/temporal.log" 2>&1 &
pids+=($!)
wait_for temporal "127.0.0.1:$TEMPORAL_PORT"

./bin/sandbox >"$LOGS/sandbox.log" 2>&1 &
pids+=($!)
wait_for sandbox "http://$SANDBOX_ADDR/healthz"
# The sandbox wrote its merchants' configuration before serving /healthz.
load_env_defaults "$SANDBOX_DIR/merchant.env"

./bin/api >"$LOGS/api.log" 2>&1 &
pids+=($!)
wait_for api "http://$HTTP_ADDR/healthz"

./bin/worker >"$LOGS/worker.log" 2>&1 &
pids+=($!)
wait_for worker "http://$WORKER_HTTP_ADDR/readyz"

cat <<MSG

  API            http://$HTTP_ADDR        (try: curl http://$HTTP_ADDR/api/v1/products)
  Storefront     http://$HTTP_ADDR/shop/  (H5, phone-sized: sign in with any code, pay in the sandbox; docs/storefront.md)
  Metrics        http://$HTTP_ADDR/metrics   http://$WORKER_HTTP_ADDR/metrics (worker; /livez, /readyz on both)
  Temporal UI    http://127.0.0.1:$TEMPORAL_UI_PORT
  Pay sandbox    http://$SANDBOX_ADDR   (WeChat Pay v3/v2, Alipay, Baidu)
  Admin login    $ADMIN_BOOTSTRAP_USER / $ADMIN_BOOTSTRAP_PASSWORD   (POST /api/v1/admin/login; first start only)
  Console        http://$HTTP_ADDR/admin/   (operators: orders, refunds, shipping, stock; signing in there also opens the Web UI's payloads)
  Payloads       encrypted (${TEMPORAL_PAYLOAD_KEYS_FILE:-TEMPORAL_PAYLOAD_KEYS}). To read them in the Web UI:
                 1. sign in at $SIGNIN_PAGE (admin or support)
                 2. in the UI (same host, 127.0.0.1): Codec Server icon (top right) → "Use my browser setting
                    and ignore Cluster-level setting" → endpoint $CODEC_ENDPOINT
                    → tick "Include cross-origin credentials" → Apply (once per browser)
                 CLI: temporal workflow show -w <order_no> --codec-endpoint $CODEC_ENDPOINT --codec-auth "Bearer <token>"
  Data           $DATA_DIR/ (SQLite: $SQLITE_PATH; set DATABASE_URL for PostgreSQL)
  Schema         ./bin/migrate status   (migrated before the API started; docs/operations.md)
  Logs           tail -f $LOGS/*.log

  Ctrl-C stops everything.
MSG
wait -n "${pids[@]}"
echo "a process stopped; logs are in $LOGS/" >&2
