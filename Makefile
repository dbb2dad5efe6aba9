# Two commands matter: `make run` starts the whole system, `make test` runs every test.
SHELL := /bin/bash
TEMPORAL_VERSION := 1.5.1
GOBIN := $(shell go env GOPATH)/bin
TEMPORAL := $(GOBIN)/temporal
export TEMPORAL_CLI := $(TEMPORAL)

.PHONY: run test build tools postgres vet fmt clean

## run: Temporal dev server + sandbox + API + worker on the embedded defaults (Ctrl-C stops all)
run: tools build
	./deploy/run-dev.sh

## test: every test: unit, workflow, PostgreSQL and SQLite integration against a real dev server
test: tools
	./deploy/ensure-postgres.sh
	go vet ./...
	go test -count=1 -timeout 20m ./...

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

vet:
	go vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin .data
