// Command api serves the shop's REST API. It refuses a database whose
// schema lacks a migration (run the `migrate` command first), and seeds the
// demo catalogue (when asked) before it listens.
package main

import (
	"context"
	"time"

	"github.com/shopflow/orderpay/internal/app"
)

func main() {
	app.Main("api", func(ctx context.Context, a *app.App) error {
		if err := a.Prepare(ctx); err != nil {
			return err
		}
		srv := a.API()
		errc := make(chan error, 1)
		go func() { errc <- srv.Listen(a.Config.HTTPAddr) }()
		a.Logger.Info("api listening", "addr", a.Config.HTTPAddr, "temporal", a.Config.TemporalAddress, "pay_channels", a.PayChannels())
		select {
		case err := <-errc:
			return err
		case <-ctx.Done():
		}
		a.Logger.Info("api shutting down")
		return srv.ShutdownWithTimeout(10 * time.Second)
	})
}
