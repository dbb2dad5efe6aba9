# Shared by run-dev.sh and bench.sh (source it; set LOGS first): start
# processes, wait for them, stop them all on exit.

pids=()

# The dev server's garbage collector: Go's default (GOGC=100) collects its
# 40-70 MB of live heap every 1-2 s under load, each time taking most of a
# core for 50-150 ms from every process on the machine; at half the peak
# order rate those pauses were the place-order p99 (docs/benchmarks.md,
# "Profile findings and optimisations"). 400 collects a quarter as often
# for about 300 MB more memory. TEMPORAL_GOGC overrides it.
DEVSERVER_GOGC=${TEMPORAL_GOGC:-400}
# The dev server's cache of workflows' mutable state (dynamic config
# history.hostLevelCacheMaxSize; Temporal's default, 128,000 for an hour,
# is sized for a cluster's history hosts): 2,048 is the orders of the last
# half-minute at the benchmark's peak. Its live heap fell from ~100 to ~67 MB
# and each collection from 100-180 to 64-99 ms.
DEVSERVER_HISTORY_CACHE=2048

# cleanup stops every process started with start_bg, newest first.
cleanup() {
  trap - EXIT INT TERM
  [ -n "${CLEANUP_MESSAGE:-}" ] && { echo; echo "$CLEANUP_MESSAGE"; }
  for ((i=${#pids[@]}-1; i>=0; i--)); do kill "${pids[$i]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# port_busy HOST:PORT succeeds when something listens there.
port_busy() { (exec 3<>"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null; }

# wait_for NAME URL-or-HOST:PORT waits up to 60 s for a health URL or a port.
wait_for() {
  for _ in $(seq 1 120); do
    case $2 in
      http*) curl -fsS -o /dev/null "$2" 2>/dev/null && return 0 ;;
      *) port_busy "$2" && return 0 ;;
    esac
    sleep 0.5
  done
  echo "$1 did not come up; see $LOGS/$1.log" >&2; exit 1
}

# require_free WHAT ADDR... fails when any address is already in use.
require_free() {
  local what=$1; shift
  for addr in "$@"; do
    if port_busy "$addr"; then echo "$addr is already in use: is another $what running?" >&2; exit 1; fi
  done
}

# load_env_defaults FILE exports the KEY='value' lines of FILE (the sandbox's
# merchant.env) like `set -a; source FILE; set +a`, except that a variable
# already set to a non-empty value keeps it: the caller's environment wins.
load_env_defaults() {
  local line key
  while IFS= read -r line || [ -n "$line" ]; do
    [[ $line =~ ^([A-Za-z_][A-Za-z0-9_]*)= ]] || continue
    key=${BASH_REMATCH[1]}
    [ -n "${!key:-}" ] && continue
    eval "export $line"
  done <"$1"
}
