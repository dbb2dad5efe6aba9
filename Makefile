# Two commands matter: `make run` starts the whole system, `make test` runs every test.
SHELL := /bin/bash
TEMPORAL_VERSION := 1.5.1
GOBIN := $(shell go env GOPATH)/bin
TEMPORAL := $(GOBIN)/temporal
export TEMPORAL_CLI := $(TEMPORAL)

.PHONY: run test build tools postgres vet fmt clean check

## run: Temporal dev server + sandbox + API + worker on the embedded defaults (Ctrl-C stops all)
run: tools build
	./deploy/run-dev.sh

## test: every test: unit, workflow, PostgreSQL and SQLite integration against a real dev server
test: tools browser jq check
	./deploy/ensure-postgres.sh
	go vet ./...
	go test -count=1 -timeout 20m ./...
	$(MAKE) fault-test

## migrate: apply the pending schema migrations to DATABASE_URL, or SQLITE_PATH (default .data/shop.db);
##   `make run` does it first. ARGS=status lists them, ARGS="down-to N" rolls back (docs/operations.md)
.PHONY: migrate
migrate:
	go build -o bin/ ./cmd/migrate
	./bin/migrate $(ARGS)

## build: the binaries, into ./bin
build:
	go build -o bin/ ./cmd/...

## tools: install the Temporal CLI once per machine (outside the clone), skipped when present
tools:
	@if [ -x "$(TEMPORAL)" ] && go version -m "$(TEMPORAL)" 2>/dev/null | grep -q "temporalio/cli[[:space:]]*v$(TEMPORAL_VERSION)"; then \
		echo "temporal CLI $(TEMPORAL_VERSION) present at $(TEMPORAL)"; \
	else \
		echo "installing temporal CLI v$(TEMPORAL_VERSION) into $(GOBIN) (about 5 minutes, once per machine)"; \
		GOFLAGS=-buildvcs=false go install github.com/temporalio/cli/cmd/temporal@v$(TEMPORAL_VERSION); \
	fi

## browser: headless Chromium for the browser tests (internal/devtools/e2e: the Web UI's codec, the storefront
##   TestShopInBrowser, the operator console), with a CJK font for the screenshots: installed with apt-get when
##   missing (as root or with sudo); where it cannot be installed those tests skip, or fail in CI
.PHONY: browser
browser:
	@if command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null; then \
		echo "chromium present"; \
	elif command -v apt-get >/dev/null && { [ "$$(id -u)" = 0 ] || command -v sudo >/dev/null; }; then \
		echo "installing chromium (apt-get, once per machine)"; sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo); \
		$$sudo apt-get update -qq && $$sudo apt-get install -y -qq --no-install-recommends chromium fonts-wqy-microhei; \
	elif [ "$$CI" = true ]; then \
		echo "chromium missing and apt-get unavailable: the browser tests fail in CI"; exit 1; \
	else \
		echo "chromium missing: the browser tests will skip (install chromium)"; \
	fi

## jq: the README walk-through's JSON tool (internal/devtools/e2e TestReadmeWalkthrough runs it):
##   installed with apt-get when missing (as root or with sudo); where it cannot be, that test skips, or fails in CI
.PHONY: jq
jq:
	@if command -v jq >/dev/null; then \
		echo "jq present"; \
	elif command -v apt-get >/dev/null && { [ "$$(id -u)" = 0 ] || command -v sudo >/dev/null; }; then \
		echo "installing jq (apt-get, once per machine)"; sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo); \
		$$sudo apt-get update -qq && $$sudo apt-get install -y -qq --no-install-recommends jq; \
	elif [ "$$CI" = true ]; then \
		echo "jq missing and apt-get unavailable: the README walk-through test fails in CI"; exit 1; \
	else \
		echo "jq missing: the README walk-through test will skip (install jq)"; \
	fi

vet:
	go vet ./...

## check: go.mod/go.sum tidy, every Go file gofmt-clean and no compiled binary tracked by git
check:
	go mod tidy -diff
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "not gofmt-clean:"; echo "$$out"; exit 1; fi
	@bins=$$(git ls-files -z | xargs -0 -r file --mime-type 2>/dev/null | grep -E 'application/x-(executable|pie-executable|sharedlib)' || true); \
	if [ -n "$$bins" ]; then echo "compiled binaries are tracked by git:"; echo "$$bins"; exit 1; fi

fmt:
	gofmt -w $$(git ls-files '*.go')

## record-history: save a finished workflow's history for the replay tests (workflows/testdata/histories),
##   e.g. make record-history SCENARIO=repay-wechat-h5 ID=2026120112000012345678
.PHONY: record-history
record-history:
	@if [ -z "$(SCENARIO)" ] || [ -z "$(ID)" ]; then echo "usage: make record-history SCENARIO=<scenario> ID=<workflow-id> [RUN_ID=<run-id>]"; exit 2; fi
	TEMPORAL_CLI=$(TEMPORAL) workflows/testdata/histories/record.sh $(SCENARIO) $(ID) $(RUN_ID)

clean:
	rm -rf bin .data

## fault-test: inject real faults (duplicate/forged notifies, a hot SKU, worker SIGKILL, PostgreSQL and
## Temporal cut off) into the whole system, run the 200-buyer model checked against the providers' books
## (MODEL_SEED / MODEL_SESSIONS), then every fuzz target for FUZZTIME (see docs/reliability.md)
FUZZTIME ?= 10s
FUZZ_TARGETS := ./api:FuzzCreateOrderRequest \
	./internal/wechatpay:FuzzParseNotify ./internal/wechatpay:FuzzParseNotifyResource ./internal/wechatpay:FuzzParseRefundNotify \
	./internal/wechatv2:FuzzParseNotify ./internal/wechatv2:FuzzParseRefundNotify \
	./internal/alipay:FuzzParseNotify \
	./internal/baidu:FuzzParseNotify ./internal/baidu:FuzzParseRefundNotify
.PHONY: fault-test
fault-test: tools
	./deploy/ensure-postgres.sh
	go vet -tags faults ./internal/devtools/faults/
	@set -o pipefail; log=$$(mktemp); \
	go test -tags faults -count=1 -v -timeout 15m ./internal/devtools/faults/ 2>&1 | tee $$log; rc=$$?; \
	echo "--- figures measured by the fault tests (docs/reliability.md) ---"; \
	grep -ho 'figures: .*' $$log; rm -f $$log; exit $$rc
	@# Go 1.26's fuzz coordinator can fail a target with a bare "context deadline exceeded" as -fuzztime
	@# ends (golang/go#75804, fixed in Go 1.27): that, and only that (no failing input written), is run again once.
	@set -e -o pipefail; for t in $(FUZZ_TARGETS); do \
		echo "fuzzing $${t#*:} in $${t%%:*} for $(FUZZTIME)"; \
		log=$$(mktemp); \
		if ! go test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s "$${t%%:*}" 2>&1 | tee $$log; then \
			if grep -q 'context deadline exceeded' $$log && ! grep -qiE 'failing input|panic:|_test.go:[0-9]+:' $$log; then \
				echo "$${t#*:}: the fuzz coordinator's deadline race (golang/go#75804), not a failing input: running it again"; \
				go test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s "$${t%%:*}"; \
			else rm -f $$log; exit 1; fi; \
		fi; \
		rm -f $$log; \
	done

## bench: load benchmark (docs/benchmarks.md): its own dev server, sandbox, API and worker on PostgreSQL
## (database "bench", ports 17xxx/18xxx), the bare-workflow baseline and the order flow at a few concurrency
## levels, open-loop latencies, a 1,000-buyer flash sale; regenerates docs/benchmarks.md and docs/benchmarks.png.
## About 7 minutes; BENCH_ARGS="-levels 8,32" to change it. BENCH_SERVERS=dev,server runs it on the dev server
## and then on a real Temporal server on PostgreSQL (built once per machine, about a minute) and reports both
## side by side (about 14 minutes); BENCH_SERVERS=server the real server alone.
BENCH_SERVERS ?= dev
export BENCH_SERVERS
.PHONY: bench
bench: tools
	./deploy/ensure-postgres.sh
	./deploy/bench.sh $(BENCH_ARGS)
