#!/usr/bin/env bash
# Records one finished workflow's full history for the replay tests:
#
#   workflows/testdata/histories/record.sh <scenario> <workflow-id> [run-id]
#
# writes workflows/testdata/histories/<scenario>-<WorkflowType>.json with
# `temporal workflow show --output json`. The Temporal CLI's usual flags and
# environment select the server (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, …).
set -euo pipefail
if [[ $# -lt 2 || $# -gt 3 ]]; then
	echo "usage: $0 <scenario> <workflow-id> [run-id]" >&2
	exit 2
fi
scenario=$1 id=$2
dir=$(cd "$(dirname "$0")" && pwd)
temporal=${TEMPORAL_CLI:-$(command -v temporal || echo "$(go env GOPATH)/bin/temporal")}
args=(workflow show --workflow-id "$id" --output json)
if [[ $# -eq 3 ]]; then
	args+=(--run-id "$3")
fi
if [[ $("$temporal" workflow describe --workflow-id "$id" ${3:+--run-id "$3"} --output json | grep -c '"closeTime"') -eq 0 ]]; then
	echo "$id has not finished: record finished workflows only" >&2
	exit 1
fi
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
"$temporal" "${args[@]}" >"$tmp"
type=$(grep -m1 -A1 '"workflowType"' "$tmp" | sed -n 's/.*"name": *"\([^"]*\)".*/\1/p')
if [[ -z $type ]]; then
	echo "no workflow type in the history of $id" >&2
	exit 1
fi
out="$dir/$scenario-$type.json"
mv "$tmp" "$out"
trap - EXIT
echo "$out: $(grep -c '"eventId"' "$out") events"
