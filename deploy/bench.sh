#!/usr/bin/env bash
# `make bench`: starts its own Temporal dev server, pay sandbox, API and
# worker on PostgreSQL (fresh database, ports apart from `make run`), runs
# the bare-workflow baseline and the real order flow at a few concurrency
# levels (bin/bench), regenerates docs/benchmarks.md and its chart, and
# stops everything it started.
#
#   deploy/bench.sh [bench flags…]   e.g. -levels 8,32 -duration 10s
#   deploy/bench.sh --serve          start the system and wait (Ctrl-C stops it),
#                                    for manual runs of bin/loadgen and profiling
#
# Environment: BENCH_DIR (.data/bench), BENCH_DATABASE_URL
# (postgres://postgres@127.0.0.1:5432/bench?sslmode=disable; the database
# is dropped and created again), BENCH_PORT_BASE (17000: Temporal +233 and
# its metrics +299, sandbox +1090, API +1080, pprof +1060/+1061),
# BENCH_PROFILE=1 to save CPU profiles of the API and the worker at the
# highest level, BENCH_DEVSERVER_TUNING= for the dev server's stock
# settings, BENCH_TEMPORAL_FLAGS for more dev-server flags.
set -euo pipefail
cd "$(dirname "$0")/.."

DIR=${BENCH_DIR:-.data/bench}
TEMPORAL=${TEMPORAL_CLI:-$(go env GOPATH)/bin/temporal}
BASE=${BENCH_PORT_BASE:-17000}
TEMPORAL_PORT=$((BASE + 233))
TEMPORAL_METRICS=127.0.0.1:$((BASE + 299))
export HTTP_ADDR=127.0.0.1:$((BASE + 1080))
export SANDBOX_ADDR=127.0.0.1:$((BASE + 1090))
export WORKER_HTTP_ADDR=127.0.0.1:$((BASE + 1081))
API_PPROF=127.0.0.1:$((BASE + 1060))
WORKER_PPROF=127.0.0.1:$((BASE + 1061))
export DATABASE_URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/bench?sslmode=disable}
export SANDBOX_DIR=$DIR/sandbox
export TEMPORAL_ADDRESS=127.0.0.1:$TEMPORAL_PORT
export TEMPORAL_TASK_QUEUE=orders
export WECHAT_NOTIFY_URL=http://$HTTP_ADDR/api/v1/notify/wechatpay
export WECHAT_REFUND_NOTIFY_URL=http://$HTTP_ADDR/api/v1/notify/wechatpay/refund
export SEED_DEMO_PRODUCTS=true
export ADMIN_BOOTSTRAP_PASSWORD=${ADMIN_BOOTSTRAP_PASSWORD:-bench-admin-password}
# The load generator logs in and orders from one address far faster than
# any buyer: lift the rate limits.
export RATE_LIMIT_LOGIN_PER_IP=1000000 RATE_LIMIT_ADMIN_LOGIN_PER_USER=1000000
export RATE_LIMIT_ORDERS_PER_USER=1000000 RATE_LIMIT_ORDERS_PER_IP=1000000
LOGS=$DIR/logs
# Dev-server dynamic config (BENCH_DEVSERVER_TUNING= runs the stock settings):
# one task-queue partition (a task and a poller can never miss each other
# across partitions, which parked tasks in the backlog for ~2 s), history
# queues read as soon as they are notified (the default 20 reads/s adds up
# to 50 ms to every workflow and activity task), eager activities (the first
# activity of a workflow task starts without a trip through matching).
DEVSERVER_TUNING="--dynamic-config-value matching.numTaskqueueReadPartitions=1
  --dynamic-config-value matching.numTaskqueueWritePartitions=1
  --dynamic-config-value history.transferProcessorMaxPollRPS=1000
  --dynamic-config-value history.timerProcessorMaxPollRPS=1000
  --dynamic-config-value history.visibilityProcessorMaxPollRPS=1000
  --dynamic-config-value system.enableActivityEagerExecution=true"

serve=false
if [[ ${1:-} == --serve ]]; then serve=true; shift; fi

# shellcheck source=deploy/lib.sh
source deploy/lib.sh
require_free bench "127.0.0.1:$TEMPORAL_PORT" "$SANDBOX_ADDR" "$HTTP_ADDR" "$WORKER_HTTP_ADDR"

go build -o bin/ ./cmd/api ./cmd/worker ./cmd/migrate ./cmd/sandbox ./cmd/bench ./cmd/loadgen
rm -rf "$LOGS" "$SANDBOX_DIR" "$DIR"/temporal.db* "$DIR/profiles" # results.json stays for `bench report`
mkdir -p "$LOGS"
./bin/bench resetdb -url "$DATABASE_URL"
./bin/migrate up >"$LOGS/migrate.log" 2>&1

# Same pragmas as `make run`; headless (no Web UI) to leave the CPU to the
# run; BENCH_TEMPORAL_FLAGS adds to (or, repeated, overrides) the dynamic
# config below (see docs/benchmarks.md, "Dev server").
# shellcheck disable=SC2086
"$TEMPORAL" server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" --headless \
  --db-filename "$DIR/temporal.db" --metrics-port "${TEMPORAL_METRICS#*:}" \
  --sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal \
  ${BENCH_DEVSERVER_TUNING-$DEVSERVER_TUNING} ${BENCH_TEMPORAL_FLAGS:-} \
  --search-attribute OrderNo=Keyword --search-attribute UserId=Int \
  --search-attribute OrderStatus=Keyword --search-attribute PayChannel=Keyword \
  --log-level warn >"$LOGS/temporal.log" 2>&1 &
pids+=($!)
wait_for temporal "127.0.0.1:$TEMPORAL_PORT"

./bin/sandbox >"$LOGS/sandbox.log" 2>&1 &
pids+=($!)
wait_for sandbox "http://$SANDBOX_ADDR/healthz"
# The merchant configuration of the API and worker: the sandbox's test merchants.
load_env_defaults "$SANDBOX_DIR/merchant.env"

PPROF_ADDR=$API_PPROF ./bin/api >"$LOGS/api.log" 2>&1 &
pids+=($!)
wait_for api "http://$HTTP_ADDR/healthz"

PPROF_ADDR=$WORKER_PPROF ./bin/worker >"$LOGS/worker.log" 2>&1 &
pids+=($!)

db=${DATABASE_URL##*/}
db=${db%%\?*}
procs="temporal=${pids[0]},sandbox=${pids[1]},api=${pids[2]},worker=${pids[3]},postgres:$db=0"
measure=(-procs "$procs" -temporal-metrics "http://$TEMPORAL_METRICS/metrics")

if $serve; then
  cat <<MSG
bench system up (PostgreSQL ${DATABASE_URL%%\?*}):
  API $HTTP_ADDR   sandbox $SANDBOX_ADDR   Temporal $TEMPORAL_ADDRESS
  pprof: api $API_PPROF  worker $WORKER_PPROF   logs: $LOGS/
  restarting the API or worker by hand: set -a; source $SANDBOX_DIR/merchant.env; set +a
  try: ./bin/loadgen -api http://$HTTP_ADDR -sandbox http://$SANDBOX_ADDR -c 16 -d 20s
       ./bin/bench run ${measure[*]} -levels 16 -doc '' -chart ''
Ctrl-C stops everything.
MSG
  wait "${pids[0]}" # until Temporal stops or Ctrl-C (the API and worker may be restarted by hand meanwhile)
  exit 1
fi

profile=()
if [[ ${BENCH_PROFILE:-} == 1 ]]; then
  profile=(-profile-dir "$DIR/profiles" -pprof-api "http://$API_PPROF" -pprof-worker "http://$WORKER_PPROF")
fi
./bin/bench run "${measure[@]}" -api "http://$HTTP_ADDR" -sandbox "http://$SANDBOX_ADDR" -temporal "$TEMPORAL_ADDRESS" \
  -json "$DIR/results.json" -logs "$LOGS" "${profile[@]}" "$@"
