// Package apptest wires a whole bigmarket instance for tests. It lives apart from
// package app so that the production binary does not link package testing.
package apptest

import (
	"context"
	"log/slog"
	"os"
	"testing"

	"github.com/bigmarket/bigmarket/internal/app"
	"github.com/bigmarket/bigmarket/internal/config"
)

// New wires an embedded instance (SQLite in a temporary directory, the demo
// campaign, admin token "test-admin") for HTTP tests and closes it when the test
// ends. mutate may adjust the configuration first. BIGMARKET_TEST_LOG=1 shows
// the instance's warnings and errors.
func New(t testing.TB, mutate func(*config.Config)) *app.App {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Auth.AdminToken = "test-admin"
	cfg.LogLevel = "error"
	if mutate != nil {
		mutate(&cfg)
	}
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("BIGMARKET_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	a, err := app.New(context.Background(), cfg, log)
	if err != nil {
		t.Fatalf("wire app: %v", err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("close app: %v", err)
		}
	})
	return a
}
