package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/bigmarket/bigmarket/internal/app"
	"github.com/bigmarket/bigmarket/internal/legacy"
	"github.com/bigmarket/bigmarket/internal/strategy"
)

const importSynopsis = `import legacy --config-dsn DSN [--out FILE] [--apply] [--config FILE]
       bigmarket import legacy users --shard-dsns DSN,DSN… [--tables-per-shard M] [--dry-run] [--config FILE]`

// cmdImport runs `bigmarket import legacy …`: the move from the original Java
// platform's MySQL.
func cmdImport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: bigmarket %s", importSynopsis)
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprintf(stdout, "Usage: bigmarket %s\n", importSynopsis)
		return nil
	case "legacy":
	default:
		return fmt.Errorf("unknown import source %q; usage: bigmarket %s", args[0], importSynopsis)
	}
	if len(args) > 1 && args[1] == "users" {
		return cmdImportUsers(ctx, args[2:], getenv, stdout, stderr)
	}
	return cmdImportConfig(ctx, args[1:], getenv, stdout, stderr)
}

func cmdImportConfig(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, cfgPath := commandFlags("import legacy", "import legacy --config-dsn DSN [--out FILE] [--apply] [--config FILE]\n\n"+
		"Reads the original platform's config database (big_market) and writes it as a campaign file\n"+
		"(stdout without --out); --apply applies it to the configured database. Rows that cannot be\n"+
		"mapped are listed with table and row id, and then nothing is written or applied.", stderr)
	dsn := fs.String("config-dsn", "", "go-sql-driver DSN of the legacy config database, e.g. root:pw@tcp(host:3306)/big_market")
	out := fs.String("out", "", "write the campaign file here (default: stdout unless --apply)")
	apply := fs.Bool("apply", false, "apply the campaign to the configured bigmarket database")
	tz := fs.String("timezone", legacy.DefaultTimezone, "time zone of the legacy DATETIME columns (and of the campaign)")
	stock := fs.String("award-stock", string(legacy.StockRemaining), "award counts from award_count_surplus (remaining) or award_count (total)")
	match := fs.String("weight-match", string(strategy.WeightAtLeast), "weight_match of strategies with rule_weight: at_least (the original's rule) or equal")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dsn == "" {
		return errors.New("import legacy: --config-dsn is required")
	}
	loc, err := time.LoadLocation(*tz)
	if err != nil {
		return fmt.Errorf("import legacy: --timezone: %w", err)
	}
	wm := strategy.WeightMatch(*match)
	if wm != strategy.WeightEqual && wm != strategy.WeightAtLeast {
		return fmt.Errorf("import legacy: --weight-match %q: want equal or at_least", *match)
	}
	src, err := legacy.OpenMySQL(ctx, *dsn)
	if err != nil {
		return err
	}
	defer src.Close()
	res, err := legacy.ReadConfig(ctx, src, legacy.ConfigOptions{Location: loc, AwardStock: legacy.AwardStock(*stock), WeightMatch: wm})
	if err != nil {
		return err
	}
	for _, n := range res.Notes {
		fmt.Fprintln(stderr, "note:", n)
	}
	if len(res.Problems) > 0 {
		for _, p := range res.Problems {
			fmt.Fprintln(stdout, p)
		}
		return fmt.Errorf("import legacy: %d row(s) cannot be mapped; nothing written or applied", len(res.Problems))
	}
	if *out != "" {
		if err := os.WriteFile(*out, res.File, 0o644); err != nil {
			return fmt.Errorf("import legacy: %w", err)
		}
		fmt.Fprintf(stderr, "wrote %s\n", *out)
	} else if !*apply {
		if _, err := stdout.Write(res.File); err != nil {
			return err
		}
	}
	if !*apply {
		return nil
	}
	cfg, _, err := app.LoadConfig(*cfgPath, getenv, stderr)
	if err != nil {
		return err
	}
	svc, closeDB, err := app.Campaigns(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeDB()
	sum, problems, err := svc.Apply(ctx, res.File)
	if len(problems) > 0 {
		for _, p := range problems.Strings() {
			fmt.Fprintln(stdout, p)
		}
		return fmt.Errorf("import legacy: %d problem(s); nothing applied", len(problems))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "applied legacy config: %d awards, %d rule trees, %d strategies, %d activities, %d counts, %d skus, %d rebates, %d stages (revision %d)\n",
		sum.Awards, sum.Trees, sum.Strategies, sum.Activities, sum.Counts, sum.SKUs, sum.Rebates, sum.Stages, sum.Revision)
	return nil
}

func cmdImportUsers(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, cfgPath := commandFlags("import legacy users", "import legacy users --shard-dsns DSN,DSN… [--tables-per-shard M] [--dry-run] [--config FILE]\n\n"+
		"Copies every user of the original platform's user databases (accounts, orders, award records,\n"+
		"rebate orders, credit accounts and ledgers) into the configured bigmarket database, routed by\n"+
		"bigmarket's sharding. Apply the legacy config first. Safe to run again: rows already there are\n"+
		"left alone, so an interrupted run continues.", stderr)
	dsns := fs.String("shard-dsns", "", "comma-separated go-sql-driver DSNs of the legacy user databases (big_market_01,…)")
	m := fs.Int("tables-per-shard", legacy.DefaultTablesPerShard, "tables _000… per split legacy table")
	dry := fs.Bool("dry-run", false, "report what would be imported; change nothing")
	tz := fs.String("timezone", legacy.DefaultTimezone, "time zone of the legacy DATETIME columns")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if strings.TrimSpace(*dsns) == "" {
		return errors.New("import legacy users: --shard-dsns is required")
	}
	loc, err := time.LoadLocation(*tz)
	if err != nil {
		return fmt.Errorf("import legacy users: --timezone: %w", err)
	}
	var sources []legacy.Source
	defer func() {
		for _, s := range sources {
			s.DB.Close()
		}
	}()
	for _, dsn := range strings.Split(*dsns, ",") {
		db, err := legacy.OpenMySQL(ctx, strings.TrimSpace(dsn))
		if err != nil {
			return err
		}
		sources = append(sources, legacy.Source{Name: legacy.DatabaseName(dsn), DB: db})
	}
	cfg, _, err := app.LoadConfig(*cfgPath, getenv, stderr)
	if err != nil {
		return err
	}
	dst, camp, err := app.OpenStorage(ctx, cfg)
	if err != nil {
		return err
	}
	defer dst.Close()
	rep, err := legacy.ImportUsers(ctx, sources, dst, camp, legacy.UsersOptions{Location: loc, TablesPerShard: *m, DryRun: *dry})
	if rep != nil {
		printReport(stdout, rep)
	}
	return err
}

// printReport writes the users report: totals, rows per table, skipped rows.
func printReport(w io.Writer, rep *legacy.Report) {
	mode := ""
	if rep.DryRun {
		mode = " (dry run: nothing changed)"
	}
	fmt.Fprintf(w, "users: %d imported, %d skipped%s\n", rep.Users, rep.UsersSkipped, mode)
	names := slices.SortedFunc(maps.Keys(rep.Tables), cmp.Compare[string])
	for _, n := range names {
		t := rep.Tables[n]
		fmt.Fprintf(w, "  %-30s read %6d  inserted %6d  already present %6d\n", n, t.Read, t.Inserted, t.Present)
	}
	fmt.Fprintf(w, "  outbox tasks created: send_award %d, send_rebate %d\n", rep.Tasks["send_award"], rep.Tasks["send_rebate"])
	for _, s := range rep.Skipped {
		fmt.Fprintln(w, "skipped:", s)
	}
}
