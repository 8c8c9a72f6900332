package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bigmarket/bigmarket/internal/catalog"
	"github.com/bigmarket/bigmarket/internal/config"
	"github.com/bigmarket/bigmarket/internal/dcc"
	"github.com/bigmarket/bigmarket/internal/draw"
	"github.com/bigmarket/bigmarket/internal/httpapi"
	"github.com/bigmarket/bigmarket/internal/idgen"
	"github.com/bigmarket/bigmarket/internal/store/awarddb"
	"github.com/bigmarket/bigmarket/internal/store/campaigndb"
	"github.com/bigmarket/bigmarket/internal/store/dccdb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/strategydb"
	"github.com/bigmarket/bigmarket/internal/strategy"
)

// App is one wired bigmarket instance. Create it with New, start its background
// work with Start, serve Handler, and Close it when done.
type App struct {
	cfg      config.Config
	log      *slog.Logger
	db       *sqldb.DB
	redis    redis.UniversalClient
	engine   *strategy.Engine
	catalog  *catalog.Catalog
	switches *dcc.Switches
	handler  http.Handler
	// AdminToken is the admin bearer token in force.
	AdminToken string

	stop func()
	wg   sync.WaitGroup
}

// New opens storage (migrating it in embedded mode), applies the demo campaign on
// the first start when enabled, loads the configuration into the engine and builds
// the HTTP handler.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (_ *App, err error) {
	now := time.Now
	a := &App{cfg: cfg, log: log, stop: func() {}}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if a.db, err = openDB(ctx, cfg, true); err != nil {
		return nil, err
	}
	campaigns := campaigndb.New(a.db, now)
	if err := applyDemo(ctx, cfg, campaigns, log); err != nil {
		return nil, err
	}
	ctr, rc := newCounter(cfg)
	a.redis = rc
	a.engine = strategy.NewEngine(strategy.Config{Counter: ctr, Store: strategydb.New(a.db), Logger: log})
	a.catalog = catalog.New(campaigns, location(cfg), log)
	a.catalog.OnChange(armListener(a.engine))
	if _, err := a.catalog.Reload(ctx, true); err != nil {
		return nil, err
	}
	if a.switches, err = dcc.New(dccdb.New(a.db), cfg.Switches, now, log); err != nil {
		return nil, err
	}
	if err := a.switches.Reload(ctx); err != nil {
		return nil, err
	}
	if a.AdminToken, err = adminToken(cfg, log); err != nil {
		return nil, err
	}
	ids := idgen.New(now)
	origins := cfg.HTTP.AllowedOrigins
	if len(origins) == 0 && cfg.Auth.Mode == config.AuthOpen {
		origins = []string{"*"}
	}
	a.handler = httpapi.New(httpapi.Config{
		AdminToken:     a.AdminToken,
		AllowedOrigins: origins,
		MaxBodyBytes:   cfg.HTTP.MaxBodyBytes,
		Logger:         log,
		Registry:       newRegistry(),
	}, httpapi.Deps{
		Strategy:  draw.NewStrategyService(a.engine, awarddb.New(a.db), a.catalog, ids.Next, now),
		Campaigns: campaignService{store: campaigns, catalog: a.catalog},
		Switches:  a.switches,
		Ready:     a.ready,
	})
	return a, nil
}

// Handler is the HTTP handler of the instance.
func (a *App) Handler() http.Handler { return a.handler }

// Start runs the background work (configuration reload, stock flush) until Close.
func (a *App) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	a.stop = cancel
	a.wg.Go(func() { a.catalog.Watch(ctx, a.cfg.ConfigPoll) })
	a.wg.Go(func() { a.switches.Watch(ctx, a.cfg.ConfigPoll) })
	a.wg.Go(func() { a.engine.RunFlusher(ctx, time.Second) })
}

// Close stops background work (the stock flusher flushes once more) and closes
// connections. It is safe to call once after New, with or without Start.
func (a *App) Close() error {
	a.stop()
	a.wg.Wait()
	var errs []error
	if a.redis != nil {
		errs = append(errs, a.redis.Close())
	}
	if a.db != nil {
		errs = append(errs, a.db.Close())
	}
	return errors.Join(errs...)
}

func (a *App) ready(ctx context.Context) error {
	if err := a.db.Ping(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if a.redis != nil {
		if err := a.redis.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("redis: %w", err)
		}
	}
	return nil
}

// Serve runs an instance on cfg.Addr until ctx ends, then shuts down gracefully:
// in-flight requests finish, background work stops and stock counters are flushed.
// When ready is not nil it receives the listen address once requests are accepted.
func Serve(ctx context.Context, cfg config.Config, log *slog.Logger, ready chan<- string) error {
	a, err := New(ctx, cfg, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		a.Close()
		return fmt.Errorf("listen %s: %w", cfg.Addr, err)
	}
	a.Start()
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("bigmarket serving", "addr", ln.Addr().String(), "database", cfg.Database.Driver, "auth", cfg.Auth.Mode)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	select {
	case err = <-serveErr:
	case <-ctx.Done():
		log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		err = srv.Shutdown(sctx)
		cancel()
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return errors.Join(err, a.Close())
}

// Migrate applies the database migrations of the configured database.
func Migrate(ctx context.Context, cfg config.Config) error {
	db, err := openDB(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Migrate(ctx)
}

// Campaigns opens the configured database for the campaign commands. The caller
// calls close when done.
func Campaigns(ctx context.Context, cfg config.Config) (svc httpapi.CampaignService, close func() error, err error) {
	db, err := openDB(ctx, cfg, true)
	if err != nil {
		return nil, nil, err
	}
	return campaignService{store: campaigndb.New(db, time.Now)}, db.Close, nil
}

// ValidateCampaign validates a campaign file without touching storage.
func ValidateCampaign(data []byte) []string { return campaignService{}.Validate(data).Strings() }
