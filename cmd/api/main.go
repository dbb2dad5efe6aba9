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
		// The API starts while Temporal is down (it answers 503), so the
		// search attributes are checked aside; the worker refuses to start
		// without them.
		go func() {
			if err := a.CheckSearchAttributes(ctx); err != nil {
				a.Logger.Error("orders cannot start until the search attributes exist", "error", err)
			}
		}()
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
		a.OrderStatusFeed().Stop() // long polls answer now instead of waiting out the grace
		return srv.ShutdownWithTimeout(10 * time.Second)
	})
}
