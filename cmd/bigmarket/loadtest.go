package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/bigmarket/bigmarket/internal/loadtest"
)

func cmdLoadtest(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, _ := commandFlags("loadtest", "loadtest [flags]   (drives activity/draw over HTTP and checks the stock invariant)", stderr)
	var cfg loadtest.Config
	fs.StringVar(&cfg.BaseURL, "url", "http://127.0.0.1:8091", "base URL of a running bigmarket")
	fs.Int64Var(&cfg.ActivityID, "activity", loadtest.DefaultActivityID, "activity to draw on")
	fs.IntVar(&cfg.Users, "users", loadtest.DefaultUsers, "distinct users")
	fs.StringVar(&cfg.UserPrefix, "prefix", "", "user id prefix (default: a fresh run tag)")
	fs.IntVar(&cfg.Concurrency, "concurrency", loadtest.DefaultConcurrency, "concurrent requests")
	fs.DurationVar(&cfg.Duration, "duration", 0, "how long to run (default 10s unless --requests is set)")
	fs.IntVar(&cfg.Requests, "requests", 0, "stop after this many draws (0: no cap)")
	fs.StringVar(&cfg.AdminToken, "admin-token", getenv("BIGMARKET_ADMIN_TOKEN"), "admin token (default $BIGMARKET_ADMIN_TOKEN)")
	fs.Int64Var(&cfg.GrantQuota, "grant", 0, "draws granted to each user first (0: enough for the run; negative: no grants)")
	fs.BoolVar(&cfg.CheckStock, "check-stock", true, "check awards issued ≤ stock afterwards")
	fs.DurationVar(&cfg.DeliveryWait, "delivery-wait", loadtest.DefaultDeliveryWait, "wait this long after the run for every award to be delivered, reporting the delivery lag (negative, e.g. -1s: do not)")
	fs.StringVar(&cfg.MetricsURL, "metrics-url", "", "the server's metrics page (default: <url>/metrics)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	_, err := loadtest.Run(ctx, cfg, stdout)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("loadtest: %w", err)
	}
	return nil
}
