package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bigmarket/bigmarket/internal/legacy/legacytest"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

// TestImportLegacyCommands runs `bigmarket import legacy` and `… users` on the
// fixture databases into an embedded bigmarket: the campaign file validates and
// applies, users import with a report, a second run inserts nothing; a config
// with bad rows lists them and neither writes the file nor applies anything.
func TestImportLegacyCommands(t *testing.T) {
	f := legacytest.LoadFixture(t)
	dir := t.TempDir()
	env := envOf(map[string]string{"BIGMARKET_DATA_DIR": filepath.Join(dir, "data"), "BIGMARKET_DEMO": "false", "BIGMARKET_LOG_LEVEL": "error"})
	ctx := context.Background()
	var out, errOut bytes.Buffer

	file := filepath.Join(dir, "legacy.yaml")
	if err := run(ctx, []string{"import", "legacy", "--config-dsn", f.Config.DSN, "--out", file, "--apply"}, env, &out, &errOut); err != nil {
		t.Fatalf("import legacy: %v\n%s\n%s", err, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "applied legacy config: 18 awards, 4 rule trees, 7 strategies, 2 activities, 7 counts, 7 skus, 4 rebates, 1 stages") {
		t.Errorf("import legacy output %q", out.String())
	}
	if !strings.Contains(errOut.String(), "note: strategy_rule[3]") {
		t.Errorf("notes %q: want the inert strategy_rule[3]", errOut.String())
	}
	out.Reset()
	if err := run(ctx, []string{"campaign", "validate", file}, env, &out, &out); err != nil {
		t.Fatalf("campaign validate on the imported file: %v %s", err, out.String())
	}

	dsns := f.Users[0].DSN + "," + f.Users[1].DSN
	out.Reset()
	if err := run(ctx, []string{"import", "legacy", "users", "--shard-dsns", dsns, "--dry-run"}, env, &out, &errOut); err != nil {
		t.Fatalf("import legacy users --dry-run: %v %s", err, out.String())
	}
	if !strings.Contains(out.String(), "users: 3 imported, 1 skipped (dry run: nothing changed)") {
		t.Errorf("dry run output %q", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"import", "legacy", "users", "--shard-dsns", dsns, "--tables-per-shard", "4"}, env, &out, &errOut); err != nil {
		t.Fatalf("import legacy users: %v %s", err, out.String())
	}
	for _, want := range []string{"users: 3 imported, 1 skipped\n", "user_credit_order", "outbox tasks created: send_award 2, send_rebate 1",
		"skipped: " + f.Users[0].Name + ".raffle_activity_account[3] user lg_dave: activity 999999 is not in bigmarket's campaign"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("users output %q: want %q", out.String(), want)
		}
	}
	out.Reset()
	if err := run(ctx, []string{"import", "legacy", "users", "--shard-dsns", dsns}, env, &out, &errOut); err != nil {
		t.Fatalf("second import legacy users: %v %s", err, out.String())
	}
	if !strings.Contains(out.String(), "outbox tasks created: send_award 0, send_rebate 0") || strings.Contains(out.String(), "inserted      1") ||
		!strings.Contains(out.String(), "user_credit_order              read      7  inserted      0  already present      7") {
		t.Errorf("second run output %q: want nothing inserted", out.String())
	}

	// Bad rows: reported, nothing written or applied.
	bad := legacytest.Load(t, "bmlegacy_bad_", legacytest.ConfigSQL)
	bad.Exec(t, "INSERT INTO strategy_rule (id, strategy_id, award_id, rule_type, rule_model, rule_value, rule_desc) VALUES (6, 100006, NULL, 1, 'rule_random', '1,100', 'x')",
		"UPDATE strategy_award SET award_id = 999 WHERE id = 23")
	dir2 := t.TempDir()
	env2 := envOf(map[string]string{"BIGMARKET_DATA_DIR": filepath.Join(dir2, "data"), "BIGMARKET_DEMO": "false", "BIGMARKET_LOG_LEVEL": "error"})
	badFile := filepath.Join(dir2, "bad.yaml")
	out.Reset()
	err := run(ctx, []string{"import", "legacy", "--config-dsn", bad.DSN, "--out", badFile, "--apply"}, env2, &out, &errOut)
	if err == nil || !strings.Contains(out.String(), `strategy_rule[6]: unknown rule model "rule_random"`) ||
		!strings.Contains(out.String(), "strategy_award[23]: award 999 does not exist in award") {
		t.Fatalf("bad config: err %v, output %q", err, out.String())
	}
	if _, err := os.Stat(badFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the campaign file was written despite bad rows (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(dir2, "data")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the bigmarket database was touched despite bad rows (%v)", err)
	}

	out.Reset()
	if err := run(ctx, []string{"import", "legacy", "--help"}, env, &out, &out); (err != nil && !errors.Is(err, flag.ErrHelp)) || !strings.Contains(out.String(), "Usage") {
		t.Errorf("import legacy --help: %v %q", err, out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"import", "legacy", "users", "--help"}, env, &out, &out); (err != nil && !errors.Is(err, flag.ErrHelp)) || !strings.Contains(out.String(), "Usage") {
		t.Errorf("import legacy users --help: %v %q", err, out.String())
	}
}

// TestImportLegacyIntoProduction runs the commands against production storage:
// sharded MariaDB databases (2 × 4, migrated by `bigmarket migrate`).
func TestImportLegacyIntoProduction(t *testing.T) {
	f := legacytest.LoadFixture(t)
	sc := sqldbtest.MySQLConfig(t, 2, 4)
	env := envOf(map[string]string{
		"BIGMARKET_DB_DRIVER": "mysql", "BIGMARKET_MYSQL_CONFIG_DSN": sc.ConfigDSN,
		"BIGMARKET_MYSQL_SHARD_DSNS": strings.Join(sc.ShardDSNs, ","), "BIGMARKET_MYSQL_TABLES_PER_SHARD": "4",
		"BIGMARKET_DEMO": "false", "BIGMARKET_LOG_LEVEL": "error",
	})
	ctx := context.Background()
	var out bytes.Buffer
	for _, args := range [][]string{
		{"migrate"},
		{"import", "legacy", "--config-dsn", f.Config.DSN, "--apply"},
		{"import", "legacy", "users", "--shard-dsns", f.Users[0].DSN + "," + f.Users[1].DSN},
	} {
		if err := run(ctx, args, env, &out, &out); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out.String())
		}
	}
	for _, want := range []string{"applied legacy config: 18 awards", "users: 3 imported, 1 skipped\n",
		"user_credit_order              read      7  inserted      7  already present      0"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output %q: want %q", out.String(), want)
		}
	}
}
