package app_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/bigmarket/bigmarket/internal/app"
	"github.com/bigmarket/bigmarket/internal/config"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

// TestServeRefusesAnotherShardLayout migrates MariaDB databases as 2 × 4, then
// starts with 2 × 2 and with the shard DSNs swapped: both starts are refused
// with a message saying what is recorded and what is configured.
func TestServeRefusesAnotherShardLayout(t *testing.T) {
	ctx := context.Background()
	sc := sqldbtest.MySQLConfig(t, 2, 4)
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Database = config.Database{Driver: "mysql", ConfigDSN: sc.ConfigDSN, ShardDSNs: sc.ShardDSNs, TablesPerShard: 4, MaxOpenConns: 4}
	if err := app.Migrate(ctx, cfg); err != nil {
		t.Fatalf("migrate 2 × 4: %v", err)
	}

	m2 := cfg
	m2.Database.TablesPerShard = 2
	swapped := cfg
	swapped.Database.ShardDSNs = []string{sc.ShardDSNs[1], sc.ShardDSNs[0]}
	for name, c := range map[string]config.Config{"2 × 2": m2, "swapped DSNs": swapped} {
		a, err := app.New(ctx, c, nil)
		if err == nil {
			a.Close()
			t.Fatalf("%s: serve started, want it refused", name)
		}
		if !errors.Is(err, sqldb.ErrLayoutMismatch) || !strings.Contains(err.Error(), "records 2 shard databases × 4 tables per shard") {
			t.Fatalf("%s: %v, want a layout mismatch naming the recorded 2 × 4", name, err)
		}
		if err := app.Migrate(ctx, c); !errors.Is(err, sqldb.ErrLayoutMismatch) {
			t.Fatalf("%s: migrate: %v, want a layout mismatch", name, err)
		}
	}
}
