package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/campaign"
	"github.com/bigmarket/bigmarket/internal/catalog"
	"github.com/bigmarket/bigmarket/internal/config"
	"github.com/bigmarket/bigmarket/internal/dcc"
	"github.com/bigmarket/bigmarket/internal/draw"
	"github.com/bigmarket/bigmarket/internal/exchange"
	"github.com/bigmarket/bigmarket/internal/exchange/exchangedb"
	"github.com/bigmarket/bigmarket/internal/httpapi"
	"github.com/bigmarket/bigmarket/internal/idgen"
	"github.com/bigmarket/bigmarket/internal/outbox"
	"github.com/bigmarket/bigmarket/internal/platform/bus"
	"github.com/bigmarket/bigmarket/internal/platform/lease"
	"github.com/bigmarket/bigmarket/internal/platform/tally"
	"github.com/bigmarket/bigmarket/internal/rebate"
	"github.com/bigmarket/bigmarket/internal/reconcile"
	"github.com/bigmarket/bigmarket/internal/store/activitydb"
	"github.com/bigmarket/bigmarket/internal/store/auditdb"
	"github.com/bigmarket/bigmarket/internal/store/awarddb"
	"github.com/bigmarket/bigmarket/internal/store/campaigndb"
	"github.com/bigmarket/bigmarket/internal/store/creditdb"
	"github.com/bigmarket/bigmarket/internal/store/dccdb"
	"github.com/bigmarket/bigmarket/internal/store/fencedb"
	"github.com/bigmarket/bigmarket/internal/store/outboxdb"
	"github.com/bigmarket/bigmarket/internal/store/rebatedb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/statsdb"
	"github.com/bigmarket/bigmarket/internal/store/strategydb"
	"github.com/bigmarket/bigmarket/internal/strategy"
	"github.com/bigmarket/bigmarket/web"
)

// App is one wired bigmarket instance. Create it with New, start its background
// work with Start, serve Handler, and Close it when done.
type App struct {
	cfg      config.Config
	log      *slog.Logger
	db       *sqldb.DB
	redis    redis.UniversalClient
	bus      bus.Bus
	relay    *outbox.Relay
	tasks    *outboxdb.Store
	retry    *outbox.RetryJob
	engine   *strategy.Engine
	catalog  *catalog.Catalog
	switches *dcc.Switches
	activity *activity.Service
	exchange *exchange.Service
	lease    lease.Lease
	handler  http.Handler
	api      *httpapi.Server
	metrics  *metrics
	// drawCodes counts the draw answers by code and flushes them to the
	// shared store the console's statistics read.
	drawCodes *tally.Recorder
	// AdminToken is the admin bearer token in force, named "admin"; empty when
	// only named tokens (auth.admin_tokens) are configured.
	AdminToken string
	// Owner identifies this instance in fleet-wide leases.
	Owner string

	busDown bool // the broker was unreachable at start: Start keeps trying

	// deliverer delivers award records; reconciler finishes those left behind.
	deliverer  *award.Deliverer
	reconciler *reconcile.Reconciler

	stop func()
	wg   sync.WaitGroup
}

// New opens storage (migrating it in embedded mode), applies the demo campaign on
// the first start when enabled, loads the configuration into the engine, connects
// the event bus and builds the HTTP handler. Start runs the background work. A nil
// log discards.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (_ *App, err error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	authn, err := newAuthenticator(cfg)
	if err != nil {
		return nil, err
	}
	now := time.Now
	ids := idgen.New(now)
	host, _ := os.Hostname()
	a := &App{cfg: cfg, log: log, stop: func() {}, Owner: host + "-" + ids.Next()}
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
	if err := checkRedis(ctx, rc, cfg.Redis.AllowEviction, log); err != nil {
		return nil, err
	}
	checkReplicaAcks(ctx, ctr, log)
	reg := newRegistry()

	// Configuration and the strategy engine.
	fences := fencedb.New(a.db)
	a.engine = strategy.NewEngine(strategy.Config{Counter: ctr, Store: strategydb.New(a.db), Fence: fences, Logger: log})
	a.catalog = catalog.New(campaigns, location(cfg), log)
	a.catalog.OnChange(armListener(a.engine))
	if a.switches, err = dcc.New(dccdb.New(a.db), cfg.Switches, now, log); err != nil {
		return nil, err
	}
	if err := a.switches.Reload(ctx); err != nil {
		return nil, err
	}

	// Stores.
	records, credits, tasks := awarddb.New(a.db), creditdb.New(a.db), outboxdb.New(a.db)
	activities := activitydb.New(a.db, activitydb.WithDrawBatches(cfg.Database.DrawBatchers, cfg.Database.DrawBatchSize),
		activitydb.WithQuotaCache(cfg.Database.QuotaCache))
	a.tasks = tasks

	// Events: the bus, the outbox relay and retry job, the consumers.
	if a.bus, err = newBus(cfg, log); err != nil {
		return nil, err
	}
	if a.relay, err = outbox.NewRelay(outbox.RelayConfig{Publisher: a.bus, Store: tasks, Workers: relayWorkers(cfg), Now: now, Logger: log}); err != nil {
		return nil, err
	}
	var fleetLease lease.Lease = lease.NewMemory(now)
	if a.redis != nil {
		fleetLease = lease.NewRedis(a.redis, redisPrefix(cfg))
	}
	if a.retry, err = outbox.NewRetryJob(outbox.RetryConfig{Store: tasks, Publisher: a.bus, Lease: fleetLease, Owner: a.Owner, Now: now, Logger: log}); err != nil {
		return nil, err
	}
	a.metrics = newMetrics(reg, a)
	registerQuotaCache(reg, activities)
	deliveries := awarddb.NewDeliveries(a.db, records, credits,
		awarddb.WithCreditBatches(cfg.Database.CreditBatchers, 0), awarddb.WithCreditPace(cfg.Database.CreditPace))
	deliverer, err := award.NewDeliverer(award.DelivererConfig{
		Store:          deliveries,
		Webhooks:       webhooks(cfg),
		WebhookTimeout: cfg.Delivery.WebhookTimeout,
		WebhookWorkers: cfg.Delivery.WebhookWorkers,
		WebhookQueue:   cfg.Delivery.WebhookQueue,
		ClaimTimeout:   cfg.Delivery.ClaimTimeout,
		NewID:          ids.Next,
		Now:            now,
		OnResult:       a.metrics.delivered,
		OnDelivered:    a.metrics.deliveryLag,
		Logger:         log,
	})
	if err != nil {
		return nil, err
	}
	a.deliverer = deliverer
	if err := a.bus.Subscribe(outbox.TopicSendAward, deliverer.Handle); err != nil {
		return nil, err
	}
	if err := a.bus.Subscribe(outbox.TopicSKUStockZero, a.skuStockZero); err != nil {
		return nil, err
	}

	// Activities.
	a.activity = activity.NewService(activity.Config{
		Store:    activities,
		Counter:  ctr,
		Fence:    fences,
		Relay:    a.relay,
		Now:      now,
		NewID:    ids.Next,
		Location: func() *time.Location { return a.catalog.Current().Location },
		Logger:   log,
	})
	rebates := rebatedb.New(a.db)
	rebateSvc := rebate.NewService(rebate.Config{
		Store:    rebates,
		Relay:    a.relay,
		Rules:    func(b string) []rebate.Rule { return a.catalog.Current().Rebates[b] },
		Location: func() *time.Location { return a.catalog.Current().Location },
		Now:      now,
		NewID:    ids.Next,
		Logger:   log,
	})
	rebateDeliverer, err := rebate.NewDeliverer(rebate.DelivererConfig{
		SKUs:    skuOrderer{catalog: a.catalog, activity: a.activity},
		Credits: credits,
		Orders:  rebates,
		NewID:   ids.Next,
		Now:     now,
		Logger:  log,
	})
	if err != nil {
		return nil, err
	}
	if err := a.bus.Subscribe(outbox.TopicSendRebate, rebateDeliverer.Handle); err != nil {
		return nil, err
	}
	if a.reconciler, err = reconcile.New(reconcile.Config{
		Awards:          records,
		Deliverer:       deliverer,
		AwardKey:        a.awardKey,
		ClaimTimeout:    deliverer.ClaimTimeout(),
		Rebates:         rebates,
		RebateDeliverer: rebateDeliverer,
		Deadline:        cfg.Reconcile.Deadline,
		MaxAttempts:     cfg.Reconcile.MaxAttempts,
		Batch:           cfg.Reconcile.Batch,
		Now:             now,
		OnResult:        a.metrics.reconciled,
		Logger:          log,
	}); err != nil {
		return nil, err
	}
	a.exchange = exchange.NewService(exchange.Config{
		Catalog:  a.catalog.Current,
		Activity: a.activity,
		Balances: credits,
		Store:    exchangedb.New(a.db, credits, tasks),
		Stock:    ctr,
		Relay:    a.relay,
		Now:      now,
		NewID:    ids.Next,
		Logger:   log,
	})
	exchangeConsumer, err := exchange.NewConsumer(exchange.ConsumerConfig{
		Store:    exchangedb.New(a.db, credits, tasks),
		Activity: a.activity,
		Logger:   log,
	})
	if err != nil {
		return nil, err
	}
	if err := a.bus.Subscribe(outbox.TopicCreditAdjustSuccess, exchangeConsumer.Handle); err != nil {
		return nil, err
	}
	a.lease = fleetLease
	a.catalog.OnChange(a.grantListener)
	if _, err := a.catalog.Reload(ctx, true); err != nil {
		return nil, err
	}
	if err := a.startBus(ctx); err != nil {
		return nil, err
	}

	if a.AdminToken, err = adminToken(cfg, log); err != nil {
		return nil, err
	}
	origins := cfg.HTTP.AllowedOrigins
	if len(origins) == 0 && cfg.Auth.Mode == config.AuthOpen {
		origins = []string{"*"}
	}
	draws := draw.NewActivityService(draw.ActivityConfig{
		Engine:     a.engine,
		Draws:      activities,
		Records:    records,
		Tasks:      tasks,
		Relay:      a.relay,
		Catalog:    a.catalog,
		Switches:   a.switches,
		Fences:     fences,
		Quotas:     a.activity,
		Views:      a.engine,
		Reloader:   a.catalog,
		NewLimiter: limiterFactory(a.redis, redisPrefix(cfg)),
		Timeout:    cfg.HTTP.DrawTimeout,
		NewID:      ids.Next,
		Now:        now,
		OnDraw:     a.metrics.drew,
	})
	registerOpsMetrics(reg, a, draws)
	codes, err := drawCodeStore(a.redis, redisPrefix(cfg))
	if err != nil {
		return nil, err
	}
	if a.drawCodes, err = tally.NewRecorder(tally.RecorderConfig{Store: codes, Retention: drawCodeRetention, Now: now, Logger: log}); err != nil {
		return nil, err
	}
	var pages *httpapi.Pages
	if cfg.UI {
		if pages, err = httpapi.NewPages(web.Dist()); err != nil {
			return nil, err
		}
	}
	a.api = httpapi.New(httpapi.Config{
		AdminToken:       a.AdminToken,
		AdminTokens:      cfg.NamedAdminTokens(),
		AllowedOrigins:   origins,
		MaxBodyBytes:     cfg.HTTP.MaxBodyBytes,
		Logger:           log,
		Registry:         reg,
		MetricsPublic:    !cfg.Metrics.RequireToken,
		MetricsElsewhere: cfg.Metrics.Addr != "",
		Auth:             authn,
		Pages:            pages,
	}, httpapi.Deps{
		Strategy:  draw.NewStrategyService(a.engine, records, a.catalog, ids.Next, now).Fenced(a.db, records, fences),
		Campaigns: campaignService{store: campaigns, catalog: a.catalog},
		Switches:  a.switches,
		Activity:  draws,
		Ops: &opsService{
			db: a.db, catalog: a.catalog, engine: a.engine, activity: a.activity, activities: activities,
			records: records, credits: credits, tasks: tasks, relay: a.relay, campaigns: campaigns, now: now,
			deliverer: deliverer, awardKey: a.awardKey, rebates: rebates, rebateDeliverer: rebateDeliverer,
			extra: map[string]func(context.Context, string, int) (any, error){
				"rebateOrders": func(ctx context.Context, user string, limit int) (any, error) {
					return rebateOrderViews(rebateSvc.Orders(ctx, user, limit))
				},
			},
		},
		Rebate:      rebateService{svc: rebateSvc},
		Exchange:    exchangeService{svc: a.exchange},
		Credit:      credits,
		History:     historyService{records: records, credits: credits},
		Activities:  activityCatalog{catalog: a.catalog},
		Ready:       a.ready,
		Audit:       auditLog{store: auditdb.New(a.db), now: now},
		Console:     statsService{catalog: a.catalog, engine: a.engine, stats: statsdb.New(a.db), activity: a.activity, codes: codes, now: now},
		DrawAnswers: a.drawCodes,
	})
	a.handler = a.api
	return a, nil
}

// Handler is the HTTP handler of the instance.
func (a *App) Handler() http.Handler { return a.handler }

// MetricsHandler serves GET /metrics without a token, for the separate metrics
// listener (metrics.addr).
func (a *App) MetricsHandler() http.Handler { return a.api.MetricsHandler() }

// Start runs the background work until Close: configuration and switch reloads,
// stock flushes, the outbox retry job and purge.
func (a *App) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	a.stop = cancel
	a.wg.Go(func() { a.catalog.Watch(ctx, a.cfg.ConfigPoll) })
	a.wg.Go(func() { a.switches.Watch(ctx, a.cfg.ConfigPoll) })
	a.wg.Go(func() { a.engine.RunFlusher(ctx, time.Second) })
	a.wg.Go(func() { a.activity.RunFlusher(ctx, time.Second) })
	a.wg.Go(func() { a.drawCodes.Run(ctx, time.Second) })
	a.wg.Go(func() { a.retry.Run(ctx) })
	if a.busDown {
		a.wg.Go(func() {
			for ctx.Err() == nil {
				if err := a.bus.Start(ctx); err == nil {
					a.log.Info("event broker connected")
					return
				}
			}
		})
	}
	// Completed outbox tasks past their retention are deleted; one runner
	// across the fleet.
	if retention := a.cfg.Outbox.Retention; retention > 0 {
		every := outbox.PurgeEvery(retention)
		a.wg.Go(func() {
			lease.RunExclusive(ctx, a.lease, "outbox-purge", a.Owner, 3*every, every, func(ctx context.Context) error {
				n, err := outbox.Purge(ctx, a.tasks, time.Now().Add(-retention), 0)
				if n > 0 {
					a.log.Info("outbox: completed tasks purged", "tasks", n, "retention", retention)
				}
				return err
			}, a.log)
		})
	}
	// Exchanges whose payment never happened (an instance died in between)
	// are cancelled and their SKU units returned; one runner across the fleet.
	a.wg.Go(func() {
		lease.RunExclusive(ctx, a.lease, "exchange-sweep", a.Owner, 3*time.Minute, time.Minute, func(ctx context.Context) error {
			_, err := a.exchange.Sweep(ctx, 5*time.Minute)
			return err
		}, a.log)
	})
	// Award records and rebate orders left unfinished (a message parked, a
	// claim left by a dead process) are redelivered or failed; one runner.
	every := a.cfg.Reconcile.Every
	if every <= 0 {
		every = 30 * time.Second
	}
	a.wg.Go(func() {
		lease.RunExclusive(ctx, a.lease, "reconcile", a.Owner, max(3*every, time.Minute), every, func(ctx context.Context) error {
			_, err := a.reconciler.RunOnce(ctx)
			return err
		}, a.log)
	})
}

// awardKey returns the delivery key of an award of the configuration in
// force.
func (a *App) awardKey(id int64) (award.Key, bool) {
	aw, ok := a.catalog.Current().Awards[id]
	return aw.Key, ok
}

// Close stops background work (stock counters and draw answer counts are
// flushed once more), publishes
// what the relay holds, and closes connections. It is safe to call once after New,
// with or without Start. In embedded mode publishing means delivering: a task
// whose consumer has not handled it within the deadline stays pending in the
// outbox, and the next start delivers it.
func (a *App) Close() error {
	a.stop()
	a.wg.Wait()
	var errs []error
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if a.engine != nil {
		errs = append(errs, a.engine.Flush(ctx))
	}
	if a.activity != nil {
		errs = append(errs, a.activity.Flush(ctx))
	}
	if a.drawCodes != nil {
		// Without Start, or after Run's own final flush (then a no-op).
		errs = append(errs, a.drawCodes.Flush(ctx))
	}
	if a.relay != nil {
		errs = append(errs, a.relay.Close(ctx))
	}
	if a.bus != nil {
		errs = append(errs, a.bus.Close())
	}
	if a.deliverer != nil {
		// Webhook awards still queued or in flight: delivered within the
		// time left, else their claims are given back for the reconciler.
		errs = append(errs, a.deliverer.Close(ctx))
	}
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

// grantListener applies the quota grants of a newly loaded campaign. Grants are
// idempotent by id, so instances applying the same grant concurrently is safe;
// a failure is logged and retried at the next load, and never blocks the load.
func (a *App) grantListener(ctx context.Context, s *catalog.Snapshot) error {
	n, err := a.activity.ApplyPendingGrants(ctx, func(id int64) (activity.Activity, bool) {
		act, ok := s.Activities[id]
		return act, ok
	})
	if err != nil {
		a.log.Error("applying quota grants", "err", err)
	}
	if n > 0 {
		a.log.Info("quota grants applied", "grants", n)
	}
	return nil
}

// skuStockZero consumes activity_sku_stock_zero: the SKU's counter already
// refuses every take, so the event is recorded for operators.
func (a *App) skuStockZero(_ context.Context, m bus.Message) error {
	var data struct {
		SKU int64 `json:"sku"`
	}
	if _, _, err := bus.DecodeEnvelope(m.Body, &data); err != nil {
		return err
	}
	a.log.Info("sku sold out", "sku", data.SKU)
	return nil
}

// Serve runs an instance on cfg.Addr (and its metrics on cfg.Metrics.Addr when
// set) until ctx ends, then shuts down gracefully: in-flight requests finish,
// background work stops and stock counters are flushed. When ready is not nil it
// receives the listen address once requests are accepted. A nil log discards.
func Serve(ctx context.Context, cfg config.Config, log *slog.Logger, ready chan<- string) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a, err := New(ctx, cfg, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		a.Close()
		return fmt.Errorf("listen %s: %w", cfg.Addr, err)
	}
	srvs := []*http.Server{newHTTPServer(cfg.HTTP, a.Handler())}
	lns := []net.Listener{ln}
	if cfg.Metrics.Addr != "" {
		mln, err := net.Listen("tcp", cfg.Metrics.Addr)
		if err != nil {
			ln.Close()
			a.Close()
			return fmt.Errorf("listen metrics %s: %w", cfg.Metrics.Addr, err)
		}
		srvs, lns = append(srvs, newHTTPServer(cfg.HTTP, a.MetricsHandler())), append(lns, mln)
		log.Info("metrics serving", "addr", mln.Addr().String())
	}
	a.Start()
	if cfg.PprofAddr != "" {
		go servePprof(ctx, cfg.PprofAddr, log)
	}
	serveErr := make(chan error, len(srvs))
	for i, srv := range srvs {
		go func() { serveErr <- srv.Serve(lns[i]) }()
	}
	log.Info("bigmarket serving", "addr", ln.Addr().String(), "database", cfg.Database.Driver, "auth", cfg.Auth.Mode)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	var errs []error
	select {
	case err := <-serveErr: // a listener failed: stop the others too
		errs = append(errs, err)
	case <-ctx.Done():
		log.Info("shutting down")
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	for _, srv := range srvs {
		errs = append(errs, srv.Shutdown(sctx))
	}
	cancel()
	return errors.Join(errors.Join(errs...), a.Close())
}

// newHTTPServer bounds what one client may hold: the time to send headers and
// the whole request, the time to answer (longer than the draw budget, checked
// by config.Validate), idle keep-alive connections and the header size.
func newHTTPServer(c config.HTTP, h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout:       c.ReadTimeout,
		WriteTimeout:      c.WriteTimeout,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    c.MaxHeaderBytes,
	}
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

// ValidateCampaign validates a campaign file without touching storage; each
// problem is located at its line and column in data.
func ValidateCampaign(data []byte) campaign.Problems { return campaignService{}.Validate(data) }

// servePprof serves the profiling endpoints on their own address until ctx ends.
func servePprof(ctx context.Context, addr string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	log.Info("pprof serving", "addr", addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("pprof", "err", err)
	}
}

// startBus connects the event bus. An unreachable RabbitMQ does not stop the
// instance: draws go on, their tasks wait in the outbox, and Start keeps
// connecting in the background (the retry job publishes them once it is up).
func (a *App) startBus(ctx context.Context) error {
	if a.cfg.RabbitMQ.URL == "" {
		if err := a.bus.Start(ctx); err != nil {
			return fmt.Errorf("start event bus: %w", err)
		}
		return nil
	}
	timeout := a.cfg.RabbitMQ.ConnectTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := a.bus.Start(sctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		a.log.Warn("event broker unreachable; draws go on and their events wait in the outbox", "err", err)
		a.busDown = true
	}
	return nil
}
