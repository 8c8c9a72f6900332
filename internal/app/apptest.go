package app

import (
	"context"
	"log/slog"
	"testing"

	"github.com/bigmarket/bigmarket/internal/config"
)

// NewForTest wires an embedded instance (SQLite in a temporary directory, the demo
// campaign, admin token "test-admin") for HTTP tests and closes it when the test
// ends. mutate may adjust the configuration first.
func NewForTest(t testing.TB, mutate func(*config.Config)) *App {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Auth.AdminToken = "test-admin"
	cfg.LogLevel = "error"
	if mutate != nil {
		mutate(&cfg)
	}
	log := slog.New(slog.DiscardHandler)
	a, err := New(context.Background(), cfg, log)
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
