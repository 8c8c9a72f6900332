// Command bigmarket is the bigmarket marketing platform: raffles, activity quotas,
// sign-in rebates and credits, served over HTTP from a single binary.
//
//	bigmarket serve                         start the service (embedded mode by default)
//	bigmarket migrate                       apply the database migrations
//	bigmarket campaign validate|apply FILE  check or apply a campaign file
//	bigmarket campaign export [FILE]        write the stored campaign (stdout without FILE)
//	bigmarket import legacy …              move in from the original Java platform's MySQL
//	bigmarket loadtest [flags]              drive activity/draw over HTTP, report, check stock
//	bigmarket version                       print the version
//
// Every command takes --config FILE; BIGMARKET_* environment variables override it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "bigmarket:", err)
		os.Exit(1)
	}
}

const usage = `bigmarket — raffles, activity quotas, sign-in rebates and credits.

Usage:
  bigmarket serve [--config FILE]                     start the service
  bigmarket migrate [--config FILE]                   apply database migrations
  bigmarket campaign validate [--config FILE] FILE    check a campaign file
  bigmarket campaign apply [--config FILE] FILE       apply a campaign file
  bigmarket campaign export [--config FILE] [FILE]    write the stored campaign
  bigmarket import legacy --config-dsn DSN [--out FILE] [--apply]
                                                      campaign from the Java platform's MySQL
  bigmarket import legacy users --shard-dsns DSN,… [--tables-per-shard M] [--dry-run]
                                                      its users, accounts, orders and credits
  bigmarket loadtest [--url URL] [--concurrency N] [--duration D] …
                                                      drive activity/draw and report
  bigmarket version                                   print the version

With no configuration, serve runs embedded: data in ./bigmarket-data, HTTP on
:8091, the demo campaign applied on first start. BIGMARKET_* environment
variables override the config file (see README).
`

// run is the whole program; main only supplies the process environment.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return cmdMigrate(ctx, rest, getenv, stdout, stderr)
	case "campaign":
		return cmdCampaign(ctx, rest, getenv, stdout, stderr)
	case "import":
		return cmdImport(ctx, rest, getenv, stdout, stderr)
	case "loadtest":
		return cmdLoadtest(ctx, rest, getenv, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "bigmarket", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// commandFlags returns a flag set with --config, printing help text on --help.
func commandFlags(name, synopsis string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := fs.String("config", "", "configuration file (YAML); BIGMARKET_* variables override it")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: bigmarket %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs, cfg
}
