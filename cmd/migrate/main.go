// Command migrate brings the database schema up to date with the versioned
// migrations of internal/store (goose). The API and the worker never
// migrate: they refuse to start on a schema older than their build. Run it
// before them: `make run` does, and docker compose runs it as a one-shot
// service the API and the worker wait for. On PostgreSQL, replicas started
// together take turns on an advisory lock; the later ones find nothing to
// do. It reads DATABASE_URL, or SQLITE_PATH while that is empty.
//
//	migrate [up]         apply every pending migration (the default)
//	migrate status       list the migrations and which are applied
//	migrate down-to N    roll back the migrations after version N (N >= 1)
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"text/tabwriter"

	"github.com/shopflow/orderpay/internal/config"
	"github.com/shopflow/orderpay/internal/store"
)

const usage = `usage: migrate [up | status | down-to <version>]
  up          apply every pending migration (the default)
  status      list the migrations and which are applied
  down-to N   roll back the migrations after version N (N >= 1)
Reads DATABASE_URL (PostgreSQL), or SQLITE_PATH (default .data/shop.db) while it is empty.`

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("component", "migrate")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, logger)
	stop()
	if errors.Is(err, errUsage) {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		logger.Error("migration failed", "error", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, out io.Writer, logger *slog.Logger) error {
	cmd := "up"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	var downTo int64
	switch {
	case (cmd == "up" || cmd == "status") && len(args) == 0:
	case cmd == "down-to" && len(args) == 1:
		v, err := strconv.ParseInt(args[0], 10, 64)
		if err != nil || v < 1 {
			return errUsage
		}
		downTo = v
	default:
		return errUsage
	}

	url, path := config.Database()
	db, err := store.Open(ctx, store.Options{DatabaseURL: url, SQLitePath: path, MaxOpen: 4})
	if err != nil {
		return err
	}
	defer store.Close(db)
	where := "sqlite:" + path
	if url != "" {
		where = "postgres"
	}
	m, err := store.NewMigrator(ctx, db)
	if err != nil {
		return err
	}

	switch cmd {
	case "status":
		return printStatus(ctx, m, out)
	case "down-to":
		steps, err := m.DownTo(ctx, downTo)
		for _, s := range steps {
			logger.Info("rolled back", "version", s.Version, "migration", s.Name, "took", s.Duration)
		}
		return err
	}
	steps, err := m.Up(ctx)
	for _, s := range steps {
		logger.Info("applied", "version", s.Version, "migration", s.Name, "took", s.Duration)
	}
	if err != nil {
		return err
	}
	v, err := m.Version(ctx)
	if err != nil {
		return err
	}
	logger.Info("schema up to date", "database", where, "version", v.Current, "applied_now", len(steps))
	return nil
}

func printStatus(ctx context.Context, m *store.Migrator, out io.Writer) error {
	list, err := m.Status(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "VERSION\tSTATE\tAPPLIED AT (UTC)\tMIGRATION")
	for _, s := range list {
		state, at := "pending", "-"
		if s.Applied {
			state, at = "applied", s.AppliedAt.UTC().Format("2006-01-02 15:04:05")
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\n", s.Version, state, at, s.Name)
	}
	return w.Flush()
}
