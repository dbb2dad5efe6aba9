#!/usr/bin/env bash
# Builds the real Temporal server (temporal-server) and its SQL schema tool
# (temporal-sql-tool) from go.temporal.io/server at the version the Temporal
# CLI embeds, once per machine, into $(go env GOPATH)/bin next to the CLI
# (outside the clone: never committed). Skipped when both are present at
# that version. `make bench BENCH_SERVERS=dev,server` runs it first.
#
#   deploy/temporal-server.sh            build when missing, print the two paths
#
# The build is a throwaway module that requires the CLI and the server
# together, so the server gets exactly the dependency versions the CLI's
# embedded server was built with (and reuses the CLI's compiled packages
# from the Go build cache: about a minute after `make tools`, several from
# a cold cache). Environment: TEMPORAL_CLI (the CLI whose server version to
# build), TEMPORAL_SERVER_VERSION (override that version).
set -euo pipefail

GOBIN=$(go env GOPATH)/bin
CLI=${TEMPORAL_CLI:-$GOBIN/temporal}
SERVER=$GOBIN/temporal-server
SQLTOOL=$GOBIN/temporal-sql-tool

# module_version BINARY MODULE prints the version of MODULE built into BINARY.
module_version() {
  go version -m "$1" 2>/dev/null | awk -v m="$2" '($1 == "dep" || $1 == "mod") && $2 == m { print $3; exit }'
}

version=${TEMPORAL_SERVER_VERSION:-}
cli_version=
if [[ -x $CLI ]]; then
  cli_version=$(module_version "$CLI" github.com/temporalio/cli)
  [[ -n $version ]] || version=$(module_version "$CLI" go.temporal.io/server)
fi
if [[ -z $version ]]; then
  echo "temporal-server.sh: no Temporal CLI at $CLI to read the server version from (run make tools, or set TEMPORAL_SERVER_VERSION)" >&2
  exit 1
fi

if [[ $(module_version "$SERVER" go.temporal.io/server) == "$version" && $(module_version "$SQLTOOL" go.temporal.io/server) == "$version" ]]; then
  echo "temporal-server $version present at $SERVER (and temporal-sql-tool)" >&2
else
  echo "building temporal-server and temporal-sql-tool $version into $GOBIN (once per machine; about a minute after make tools, longer from a cold cache)" >&2
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  {
    echo "module orderpay.local/temporal-server-build"
    echo
    echo "go 1.25.0"
    echo
    echo "require ("
    echo "	go.temporal.io/server $version"
    [[ $cli_version == v* ]] && echo "	github.com/temporalio/cli $cli_version"
    echo ")"
  } >"$tmp/go.mod"
  # Both modules' checksums, so that nothing is looked up that the CLI's
  # build did not already verify.
  modcache=$(go env GOMODCACHE)
  cat "$modcache/github.com/temporalio/cli@$cli_version/go.sum" "$modcache/go.temporal.io/server@$version/go.sum" 2>/dev/null |
    sort -u >"$tmp/go.sum" || true
  started=$(date +%s)
  (
    cd "$tmp"
    export GOFLAGS=-mod=mod
    go build -buildvcs=false -o "$tmp/temporal-server" go.temporal.io/server/cmd/server
    go build -buildvcs=false -o "$tmp/temporal-sql-tool" go.temporal.io/server/cmd/tools/sql
  )
  mv "$tmp/temporal-server" "$SERVER"
  mv "$tmp/temporal-sql-tool" "$SQLTOOL"
  echo "built temporal-server and temporal-sql-tool $version in $(($(date +%s) - started)) s" >&2
fi
echo "$SERVER"
echo "$SQLTOOL"
