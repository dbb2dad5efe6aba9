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
# BENCH_SERVERS picks the Temporal service the system runs on: "dev" (the
# default: the CLI's dev server, SQLite), "server" (the real Temporal server
# built from go.temporal.io/server at the version the CLI embeds, on
# PostgreSQL with 4 history shards and the production dynamic config of
# docs/operations.md, deploy/temporal/dynamicconfig.yaml; built
# once per machine by deploy/temporal-server.sh), or "dev,server": the whole
# benchmark on each in turn (a fresh database each time), then one report
# with the two side by side.
#
# Environment: BENCH_DIR (.data/bench), BENCH_DATABASE_URL
# (postgres://postgres@127.0.0.1:5432/bench?sslmode=disable; the database
# is dropped and created again), BENCH_PORT_BASE (17000: Temporal +233 and
# its metrics +299, sandbox +1090, API +1080, pprof +1060/+1061),
# BENCH_SERVER_DEFAULTS=1 to run the real Temporal server on its stock
# dynamic config, BENCH_PROFILE=1 to save CPU profiles of the API and the worker at the
# highest level, BENCH_DEVSERVER_TUNING= for the dev server's stock
# settings, BENCH_TEMPORAL_FLAGS for more dev-server flags,
# BENCH_TEMPORAL_DB (temporal_bench: the real server's database, and
# ${BENCH_TEMPORAL_DB}_visibility; both dropped and created again),
# BENCH_TEMPORAL_MAX_CONNS / BENCH_TEMPORAL_VIS_MAX_CONNS (5 / 2: the real
# server's connection pools, per service).
set -euo pipefail
cd "$(dirname "$0")/.."

DIR=${BENCH_DIR:-.data/bench}
SERVERS=${BENCH_SERVERS:-dev}
if [[ $SERVERS == *,* ]]; then
  # Each server in turn, by this script (its own processes, stopped before
  # the next), then one report of them side by side.
  [[ ${1:-} == --serve ]] && { echo "--serve runs one server: BENCH_SERVERS=dev or BENCH_SERVERS=server" >&2; exit 2; }
  results=()
  for server in ${SERVERS//,/ }; do
    echo "=== make bench on the Temporal $server ===" >&2
    BENCH_SERVERS=$server BENCH_LOGS=$DIR/logs-$server "$0" "$@" -json "$DIR/results-$server.json" -doc '' -chart ''
    results+=("$DIR/results-$server.json")
  done
  ./bin/bench report -json "$(IFS=,; echo "${results[*]}")"
  exit
fi
case $SERVERS in
  dev | server) ;;
  *) echo "BENCH_SERVERS=$SERVERS: want dev, server or dev,server" >&2; exit 2 ;;
esac
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
LOGS=${BENCH_LOGS:-$DIR/logs} # logs-dev and logs-server with BENCH_SERVERS=dev,server
serve=false
if [[ ${1:-} == --serve ]]; then serve=true; shift; fi

# shellcheck source=deploy/lib.sh
source deploy/lib.sh

# Dev-server dynamic config: the same as `make run` (deploy/run-dev.sh) and
# the production docs (docs/operations.md): the history queues read as soon
# as they are notified (the default 20 reads/s adds up to 50 ms to every
# task), and the mutable-state cache is DEVSERVER_HISTORY_CACHE (deploy/lib.sh).
# BENCH_DEVSERVER_TUNING= runs the stock settings; the tuning of
# earlier runs (one task-queue partition, eager activities) is
# BENCH_TEMPORAL_FLAGS="--dynamic-config-value matching.numTaskqueueReadPartitions=1
# --dynamic-config-value matching.numTaskqueueWritePartitions=1
# --dynamic-config-value system.enableActivityEagerExecution=true".
DEVSERVER_TUNING="--dynamic-config-value history.transferProcessorMaxPollRPS=1000
  --dynamic-config-value history.timerProcessorMaxPollRPS=1000
  --dynamic-config-value history.visibilityProcessorMaxPollRPS=1000
  --dynamic-config-value history.hostLevelCacheMaxSize=$DEVSERVER_HISTORY_CACHE"

# The real Temporal server's ports (all below 32768: the PostgreSQL schema
# stores cluster-membership ports as SMALLINT), its databases and files.
SERVER_PORTS=(frontend-membership=$((BASE + 240)) history=$((BASE + 241)) history-membership=$((BASE + 242))
  matching=$((BASE + 243)) matching-membership=$((BASE + 244)) worker=$((BASE + 245)) worker-membership=$((BASE + 246))
  frontend-http=$((BASE + 247)))
TEMPORAL_DB=${BENCH_TEMPORAL_DB:-temporal_bench}

# server_port NAME prints the port SERVER_PORTS gives NAME.
server_port() {
  local kv
  for kv in "${SERVER_PORTS[@]}"; do [[ ${kv%%=*} == "$1" ]] && { echo "${kv#*=}"; return; }; done
  echo "no port named $1" >&2; exit 1
}

# start_temporal_server SERVER_BIN SQL_TOOL: fresh databases with the schema
# applied by the SQL tool, a config file, the server (all four services in
# one process), then the default namespace and the search attributes.
start_temporal_server() {
  local bin=$1 sqltool=$2 kv port
  for port in "$TEMPORAL_PORT" "${TEMPORAL_METRICS#*:}" "${SERVER_PORTS[@]#*=}"; do
    if ((port >= 32768)); then
      echo "port $port: the Temporal server's ports must stay below 32768 (BENCH_PORT_BASE=$BASE is too high)" >&2; exit 1
    fi
  done
  for kv in "${SERVER_PORTS[@]}"; do require_free "Temporal server (${kv%%=*})" "127.0.0.1:${kv#*=}"; done

  # PostgreSQL from the bench DATABASE_URL: postgres://user[:password]@host[:port]/db?…
  local hostport creds pg_host pg_port pg_user pg_password
  hostport=${DATABASE_URL#*://}
  hostport=${hostport%%/*}
  creds=
  if [[ $hostport == *@* ]]; then creds=${hostport%@*}; hostport=${hostport##*@}; fi
  pg_user=${creds%%:*}
  pg_user=${pg_user:-postgres}
  pg_password=
  [[ $creds == *:* ]] && pg_password=${creds#*:}
  pg_host=${hostport%:*}
  pg_port=5432
  [[ $hostport == *:* ]] && pg_port=${hostport##*:}
  local sql=("$sqltool" --plugin postgres12 --ep "$pg_host" -p "$pg_port" -u "$pg_user")
  [[ -n $pg_password ]] && sql+=(--password "$pg_password")
  local db schema
  for db in "$TEMPORAL_DB" "${TEMPORAL_DB}_visibility"; do
    schema=temporal
    [[ $db == *_visibility ]] && schema=visibility
    { "${sql[@]}" --db "$db" drop-database --force || true; } >>"$LOGS/temporal-sql-tool.log" 2>&1 # absent the first time
    {
      "${sql[@]}" --db "$db" create-database &&
        "${sql[@]}" --db "$db" setup-schema -v 0.0 &&
        "${sql[@]}" --db "$db" update-schema --schema-name "postgresql/v12/$schema"
    } >>"$LOGS/temporal-sql-tool.log" 2>&1 || { echo "schema of $db failed; see $LOGS/temporal-sql-tool.log" >&2; exit 1; }
  done

  # Connection pools: each of the four services has its own, so the server
  # holds up to 4 × (max_conns + vis_max_conns) connections; this machine's
  # PostgreSQL allows 100 (max_connections), shared with the app's two pools
  # of 20 and with other work, and Temporal's sample sizes (20 + 10 per
  # service) ran it out of connections.
  local max_conns=${BENCH_TEMPORAL_MAX_CONNS:-5} vis_max_conns=${BENCH_TEMPORAL_VIS_MAX_CONNS:-2}
  local root=$DIR/temporal-server
  mkdir -p "$root/config"
  cat >"$root/config/bench.yaml" <<YAML
# Written by deploy/bench.sh: the Temporal server for make bench.
log:
  stdout: true
  level: warn
persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: 4
  datastores:
    postgres-default:
      sql:
        pluginName: postgres12
        databaseName: $TEMPORAL_DB
        connectAddr: "$pg_host:$pg_port"
        connectProtocol: tcp
        user: "$pg_user"
        password: "$pg_password"
        maxConns: $max_conns
        maxIdleConns: $max_conns
        maxConnLifetime: 1h
    postgres-visibility:
      sql:
        pluginName: postgres12
        databaseName: ${TEMPORAL_DB}_visibility
        connectAddr: "$pg_host:$pg_port"
        connectProtocol: tcp
        user: "$pg_user"
        password: "$pg_password"
        maxConns: $vis_max_conns
        maxIdleConns: $vis_max_conns
        maxConnLifetime: 1h
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
  metrics:
    prometheus:
      listenAddress: "$TEMPORAL_METRICS"
      handlerPath: /metrics
services:
  frontend:
    rpc:
      grpcPort: $TEMPORAL_PORT
      membershipPort: $(server_port frontend-membership)
      httpPort: $(server_port frontend-http)
      bindOnIP: 127.0.0.1
  history:
    rpc:
      grpcPort: $(server_port history)
      membershipPort: $(server_port history-membership)
      bindOnIP: 127.0.0.1
  matching:
    rpc:
      grpcPort: $(server_port matching)
      membershipPort: $(server_port matching-membership)
      bindOnIP: 127.0.0.1
  worker:
    rpc:
      grpcPort: $(server_port worker)
      membershipPort: $(server_port worker-membership)
      bindOnIP: 127.0.0.1
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "127.0.0.1:$TEMPORAL_PORT"
      httpAddress: "127.0.0.1:$(server_port frontend-http)"
dcRedirectionPolicy:
  policy: noop
YAML
  # The production dynamic config of docs/operations.md (deploy/temporal/
  # dynamicconfig.yaml), as docker-compose.yml runs it; BENCH_SERVER_DEFAULTS=1
  # for the server's stock defaults throughout. GOGC as compose sets it.
  if [[ -z ${BENCH_SERVER_DEFAULTS:-} ]]; then
    cat >>"$root/config/bench.yaml" <<YAML
dynamicConfigClient:
  filepath: "$PWD/deploy/temporal/dynamicconfig.yaml"
  pollInterval: 60s
YAML
  fi
  GOGC=$DEVSERVER_GOGC "$bin" --root "$root" --config config --env bench --allow-no-auth start >"$LOGS/temporal.log" 2>&1 &
  pids+=($!)
  wait_for temporal "127.0.0.1:$TEMPORAL_PORT"

  # The default namespace and the order workflow's search attributes, as an
  # operator registers them on a new cluster (the dev server's flags do it
  # there); retried while the services join and the namespace cache fills.
  local t=("$TEMPORAL" --address "$TEMPORAL_ADDRESS")
  retry 60 "register the namespace" "${t[@]}" operator namespace create --namespace default --retention 24h
  retry 60 "create the search attributes" "${t[@]}" operator search-attribute create --namespace default \
    --name OrderNo --type Keyword --name UserId --type Int --name OrderStatus --type Keyword --name PayChannel --type Keyword
  retry 60 "query by the search attributes" "${t[@]}" workflow count --namespace default \
    --query 'OrderNo = "x" AND UserId = 1 AND OrderStatus = "x" AND PayChannel = "x"'
}

# retry SECONDS WHAT COMMAND… runs COMMAND every second until it succeeds.
retry() {
  local secs=$1 what=$2 i
  shift 2
  for ((i = 0; i < secs; i++)); do
    "$@" >>"$LOGS/temporal-setup.log" 2>&1 && return 0
    sleep 1
  done
  echo "could not $what on the Temporal server; see $LOGS/temporal-setup.log and $LOGS/temporal.log" >&2
  exit 1
}
require_free bench "127.0.0.1:$TEMPORAL_PORT" "$SANDBOX_ADDR" "$HTTP_ADDR" "$WORKER_HTTP_ADDR"

go build -o bin/ ./cmd/api ./cmd/worker ./cmd/migrate ./cmd/sandbox ./cmd/bench ./cmd/loadgen
if [[ $SERVERS == server ]]; then
  # Built once per machine (outside the clone); prints the two binaries.
  server_out=$(./deploy/temporal-server.sh) # fails the script when the build fails
  mapfile -t server_bins <<<"$server_out"
fi
rm -rf "$LOGS" "$SANDBOX_DIR" "$DIR"/temporal.db* "$DIR/profiles" "$DIR/temporal-server" # results*.json stay for `bench report`
mkdir -p "$LOGS"
./bin/bench resetdb -url "$DATABASE_URL"
./bin/migrate up >"$LOGS/migrate.log" 2>&1

if [[ $SERVERS == dev ]]; then
  # Same pragmas as `make run`; headless (no Web UI) to leave the CPU to the
  # run; BENCH_TEMPORAL_FLAGS adds to (or, repeated, overrides) the dynamic
  # config below (see docs/benchmarks.md, "Dev server").
  # shellcheck disable=SC2086
  GOGC=$DEVSERVER_GOGC "$TEMPORAL" server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" --headless \
    --db-filename "$DIR/temporal.db" --metrics-port "${TEMPORAL_METRICS#*:}" \
    --sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal \
    ${BENCH_DEVSERVER_TUNING-$DEVSERVER_TUNING} ${BENCH_TEMPORAL_FLAGS:-} \
    --search-attribute OrderNo=Keyword --search-attribute UserId=Int \
    --search-attribute OrderStatus=Keyword --search-attribute PayChannel=Keyword \
    --log-level warn >"$LOGS/temporal.log" 2>&1 &
  pids+=($!)
  wait_for temporal "127.0.0.1:$TEMPORAL_PORT"
  server_label="Temporal CLI dev server $(go version -m "$TEMPORAL" | awk '$1 == "dep" && $2 == "go.temporal.io/server" { print $3 }') (SQLite, 1 shard, tuned: see Dev server settings)"
  temporal_dbs=""
else
  start_temporal_server "${server_bins[0]}" "${server_bins[1]}"
  server_config="production dynamic config: see The real Temporal server"
  [[ -n ${BENCH_SERVER_DEFAULTS:-} ]] && server_config="default dynamic config"
  server_label="Temporal server $(go version -m "${server_bins[0]}" | awk '$2 == "go.temporal.io/server" { print $3; exit }') (PostgreSQL, 4 shards, $server_config)"
  temporal_dbs=",temporal-db@postgres:$TEMPORAL_DB=0,temporal-db@postgres:${TEMPORAL_DB}_visibility=0"
fi

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
procs="temporal=${pids[0]},sandbox=${pids[1]},api=${pids[2]},worker=${pids[3]},postgres:$db=0$temporal_dbs"
measure=(-procs "$procs" -temporal-metrics "http://$TEMPORAL_METRICS/metrics" -server "$server_label")

if $serve; then
  cat <<MSG
bench system up on the $server_label (PostgreSQL ${DATABASE_URL%%\?*}):
  API $HTTP_ADDR   sandbox $SANDBOX_ADDR   Temporal $TEMPORAL_ADDRESS
  pprof: api $API_PPROF  worker $WORKER_PPROF   logs: $LOGS/
  restarting the API or worker by hand: set -a; source $SANDBOX_DIR/merchant.env; set +a
  try: ./bin/loadgen -api http://$HTTP_ADDR -sandbox http://$SANDBOX_ADDR -c 16 -d 20s
       ./bin/bench run $(printf '%q ' "${measure[@]}")-levels 16 -doc '' -chart ''
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
