// Package faults holds the fault tests: the whole system (API, worker,
// provider sandbox, a real Temporal dev server and a real PostgreSQL) run
// with faults injected for real — duplicate and forged notifies, a hot
// SKU oversold a thousand times, the worker killed with SIGKILL, PostgreSQL
// and Temporal cut off behind TCP proxies — and the money and stock
// accounted for to the cent afterwards.
//
// The tests carry the build tag "faults" so that `go test ./...` stays
// quick; run them with
//
//	make fault-test                                  # also runs every fuzz target briefly
//	go test -tags faults -count=1 -v ./internal/devtools/faults/
//
// Every test prints the figures it measured on lines starting "figures:";
// docs/reliability.md quotes them.
package faults
