package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/bigmarket/bigmarket/internal/app"
)

func cmdServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, cfgPath := commandFlags("serve", "serve [--config FILE]", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, log, err := app.LoadConfig(*cfgPath, getenv, stderr)
	if err != nil {
		return err
	}
	return app.Serve(ctx, cfg, log, nil)
}

func cmdMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, cfgPath := commandFlags("migrate", "migrate [--config FILE]", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, _, err := app.LoadConfig(*cfgPath, getenv, stderr)
	if err != nil {
		return err
	}
	if err := app.Migrate(ctx, cfg); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "migrations applied")
	return nil
}

const campaignSynopsis = "campaign validate FILE | campaign apply FILE | campaign export [FILE]   (each takes --config FILE)"

func cmdCampaign(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: bigmarket %s", campaignSynopsis)
	}
	sub := args[0]
	switch sub {
	case "-h", "--help", "help":
		fmt.Fprintf(stdout, "Usage: bigmarket %s\n", campaignSynopsis)
		return nil
	case "validate", "apply", "export":
	default:
		return fmt.Errorf("unknown campaign command %q; usage: bigmarket %s", sub, campaignSynopsis)
	}
	synopsis := "campaign " + sub + " [--config FILE] FILE"
	if sub == "export" {
		synopsis = "campaign export [--config FILE] [FILE]   (stdout without FILE)"
	}
	fs, cfgPath := commandFlags("campaign "+sub, synopsis, stderr)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	file := fs.Arg(0)
	if file == "" && sub != "export" {
		return fmt.Errorf("campaign %s: a campaign file is required", sub)
	}
	var data []byte
	if sub != "export" {
		b, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("campaign %s: %w", sub, err)
		}
		data = b
	}
	if sub == "validate" {
		if problems := app.ValidateCampaign(data); len(problems) > 0 {
			// FILE:LINE:COLUMN: path: message, as compilers print, so an
			// editor jumps to each problem.
			for _, p := range problems {
				fmt.Fprintf(stdout, "%s:%d:%d: %s\n", file, max(p.Line, 1), max(p.Column, 1), p)
			}
			return fmt.Errorf("%s: %d problem(s)", file, len(problems))
		}
		fmt.Fprintln(stdout, file+": valid")
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
	if sub == "export" {
		out, err := svc.Export(ctx)
		if err != nil {
			return err
		}
		if file == "" {
			_, err = stdout.Write(out)
			return err
		}
		return os.WriteFile(file, out, 0o644)
	}
	sum, problems, err := svc.Apply(ctx, data)
	if len(problems) > 0 {
		for _, p := range problems.Strings() {
			fmt.Fprintln(stdout, p)
		}
		return fmt.Errorf("%s: %d problem(s); nothing applied", file, len(problems))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "applied %s: %d awards, %d rule trees, %d strategies, %d activities, %d counts, %d skus, %d rebates, %d stages, %d grants (revision %d)\n",
		file, sum.Awards, sum.Trees, sum.Strategies, sum.Activities, sum.Counts, sum.SKUs, sum.Rebates, sum.Stages, sum.Grants, sum.Revision)
	return nil
}
