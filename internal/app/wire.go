// Package app wires bigmarket together from its configuration: storage, counters,
// the strategy engine, the configuration catalog, services and the HTTP server. It
// is the one place where concrete implementations are chosen.
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/bigmarket/bigmarket/internal/auth"
	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/campaign"
	"github.com/bigmarket/bigmarket/internal/catalog"
	"github.com/bigmarket/bigmarket/internal/config"
	"github.com/bigmarket/bigmarket/internal/httpapi"
	"github.com/bigmarket/bigmarket/internal/platform/bus"
	"github.com/bigmarket/bigmarket/internal/platform/bus/rabbitmq"
	"github.com/bigmarket/bigmarket/internal/platform/counter"
	"github.com/bigmarket/bigmarket/internal/platform/ratelimit"
	"github.com/bigmarket/bigmarket/internal/platform/redisx"
	"github.com/bigmarket/bigmarket/internal/platform/tally"
	"github.com/bigmarket/bigmarket/internal/store/campaigndb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/strategy"
)

// LoadConfig reads the configuration (file, then environment) and builds the
// logger that writes to stderr.
func LoadConfig(path string, getenv func(string) string, stderr io.Writer) (config.Config, *slog.Logger, error) {
	cfg, err := config.Load(path, getenv)
	if err != nil {
		return config.Config{}, nil, err
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(stderr, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(stderr, opts)
	}
	return cfg, slog.New(h), nil
}

// openDB opens the configured database. Embedded mode creates the data directory
// and migrates on open; MySQL is migrated by `bigmarket migrate`. With
// migrateEmbedded (opening for use rather than for `migrate`) it also refuses a
// shard layout other than the recorded one (sqldb.DB.CheckLayout; embedded
// migration records and checks it).
func openDB(ctx context.Context, cfg config.Config, migrateEmbedded bool) (*sqldb.DB, error) {
	sc := sqldb.Config{
		Driver:         cfg.Database.Driver,
		ConfigDSN:      cfg.Database.ConfigDSN,
		ShardDSNs:      cfg.Database.ShardDSNs,
		TablesPerShard: cfg.Database.TablesPerShard,
		MaxOpenConns:   cfg.Database.MaxOpenConns,
	}
	if cfg.Database.Driver == "sqlite" {
		if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
		sc.SQLitePath = filepath.Join(cfg.DataDir, "bigmarket.db")
	}
	db, err := sqldb.Open(ctx, sc)
	if err != nil {
		return nil, err
	}
	if migrateEmbedded {
		check := db.CheckLayout
		if cfg.Database.Driver == "sqlite" {
			check = db.Migrate
		}
		if err := check(ctx); err != nil {
			db.Close()
			return nil, err
		}
	}
	return db, nil
}

// location returns the configured default time zone.
func location(cfg config.Config) *time.Location {
	if cfg.Timezone == "" {
		return time.Local
	}
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil { // Validate already checked it
		return time.Local
	}
	return loc
}

// stockCounter is what award and SKU stock need of a counter store: atomic
// takes, and giving back a unit of an exchange whose payment failed.
type stockCounter interface {
	counter.Counter
	Release(ctx context.Context, key string) (bool, error)
}

// newCounter returns the stock counter store: Redis when configured, else in
// process.
func newCounter(cfg config.Config) (stockCounter, redis.UniversalClient) {
	if len(cfg.Redis.Addrs) == 0 {
		return counter.NewMemory(), nil
	}
	rc := redisx.Config{Addrs: cfg.Redis.Addrs, Password: cfg.Redis.Password, DB: cfg.Redis.DB, Prefix: cfg.Redis.Prefix}
	client := redisx.New(rc)
	return counter.NewRedis(client, rc.Prefix, counter.RedisOptions{ReplicaAcks: cfg.Redis.ReplicaAcks, ReplicaAckTimeout: cfg.Redis.ReplicaAckTimeout}), client
}

// checkReplicaAcks logs what redis.replica_acks relies on and the servers lack
// (counter.Redis.CheckReplicas); nothing for in-process counters or without
// replica acks.
func checkReplicaAcks(ctx context.Context, ctr stockCounter, log *slog.Logger) {
	r, ok := ctr.(*counter.Redis)
	if !ok {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for _, w := range r.CheckReplicas(cctx) {
		log.Warn(w)
	}
}

// checkRedis refuses a Redis that may evict stock counters (unless allowed)
// and logs what else is not as DESIGN §8 asks (see redisx.CheckDurability). A
// nil client (in-process counters) passes.
func checkRedis(ctx context.Context, rc redis.UniversalClient, allowEviction bool, log *slog.Logger) error {
	if rc == nil {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	warnings, err := redisx.CheckDurability(cctx, rc, allowEviction)
	for _, w := range warnings {
		log.Warn(w)
	}
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

// applyDemo applies the embedded demo campaign when the database has never had a
// campaign and the demo is enabled.
func applyDemo(ctx context.Context, cfg config.Config, store campaign.Store, log *slog.Logger) error {
	if !cfg.Demo {
		return nil
	}
	rev, err := store.Revision(ctx)
	if err != nil {
		return fmt.Errorf("demo campaign: %w", err)
	}
	if rev != 0 {
		return nil
	}
	sum, problems, err := campaign.Apply(ctx, store, campaign.Demo())
	if len(problems) > 0 {
		return fmt.Errorf("demo campaign: %w", problems)
	}
	if err != nil {
		return fmt.Errorf("demo campaign: %w", err)
	}
	log.Info("demo campaign applied", "strategies", sum.Strategies, "activities", sum.Activities)
	return nil
}

// adminToken returns the configured admin token, or the one stored in the data
// directory, generating and storing it (and logging it once) on first start
// when no named tokens are configured either.
func adminToken(cfg config.Config, log *slog.Logger) (string, error) {
	if cfg.Auth.AdminToken != "" {
		return cfg.Auth.AdminToken, nil
	}
	if len(cfg.Auth.AdminTokens) > 0 {
		return "", nil // named tokens are configured: none is generated
	}
	path := filepath.Join(cfg.DataDir, "admin-token")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read admin token: %w", err)
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate admin token: %w", err)
	}
	tok := hex.EncodeToString(b[:])
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return "", fmt.Errorf("store admin token: %w", err)
	}
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("store admin token: %w", err)
	}
	log.Warn("generated an admin token; it is shown once here and stored in "+path, "admin_token", tok)
	return tok, nil
}

// newRegistry returns the metrics registry with the Go and process collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// armListener re-arms the engine with each new configuration snapshot.
func armListener(engine *strategy.Engine) catalog.Listener {
	return func(ctx context.Context, s *catalog.Snapshot) error {
		return engine.ArmContext(ctx, s.Campaign.Strategies, s.Campaign.Trees)
	}
}

// campaignService adapts the campaign package to the admin API and the CLI, and
// reloads the local catalog after an apply so the change is visible at once.
type campaignService struct {
	store   *campaigndb.Store
	catalog *catalog.Catalog
}

// Validate implements httpapi.CampaignService.
func (c campaignService) Validate(data []byte) campaign.Problems { return campaign.ValidateBytes(data) }

// Apply implements httpapi.CampaignService.
func (c campaignService) Apply(ctx context.Context, data []byte) (campaign.Summary, campaign.Problems, error) {
	store := c.store
	if actor := httpapi.AdminFrom(ctx); actor != "" {
		store = store.As(actor) // the revision history names the admin
	}
	sum, problems, err := campaign.Apply(ctx, store, data)
	if err != nil || len(problems) > 0 {
		return sum, problems, err
	}
	if c.catalog != nil {
		if _, err := c.catalog.Reload(ctx, false); err != nil {
			return sum, nil, err
		}
	}
	return sum, nil, nil
}

// Revisions implements httpapi.CampaignService.
func (c campaignService) Revisions(ctx context.Context, limit int) ([]httpapi.CampaignRevision, error) {
	rs, err := c.store.Revisions(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]httpapi.CampaignRevision, 0, len(rs))
	for _, r := range rs {
		out = append(out, httpapi.CampaignRevision{Time: r.Time, Actor: r.Actor, Summary: r.Summary})
	}
	return out, nil
}

// Export implements httpapi.CampaignService.
func (c campaignService) Export(ctx context.Context) ([]byte, error) {
	camp, err := c.store.Load(ctx)
	if err != nil {
		return nil, err
	}
	return campaign.Export(camp)
}

// redisPrefix is the key prefix of every Redis-backed piece.
func redisPrefix(cfg config.Config) string {
	return redisx.Config{Prefix: cfg.Redis.Prefix}.KeyPrefix()
}

// newBus returns RabbitMQ when configured, else the in-process bus.
func newBus(cfg config.Config, log *slog.Logger) (bus.Bus, error) {
	if cfg.RabbitMQ.URL == "" {
		// Enough workers that delivery keeps up with the draw rate: a delivery
		// waits on the single SQLite writer most of its time.
		return bus.NewMemory(bus.MemoryConfig{Workers: 64, QueueSize: 8192, Logger: log}), nil
	}
	b, err := rabbitmq.New(rabbitmq.Config{
		URL:         cfg.RabbitMQ.URL,
		Exchange:    cfg.RabbitMQ.Exchange,
		QueuePrefix: cfg.RabbitMQ.QueuePrefix,
		Logger:      log,
	})
	if err != nil {
		return nil, fmt.Errorf("rabbitmq: %w", err)
	}
	return b, nil
}

// embeddedRelayWorkers is the outbox relay's publishing concurrency over the
// in-process bus. There a publish returns only once the consumer handled the
// message, so each worker waits for a delivery (up to the relay's publish
// timeout) where a RabbitMQ publish takes a millisecond: enough workers that
// deliveries stuck on a slow consumer (a webhook) do not starve the others. An
// idle worker is a parked goroutine.
const embeddedRelayWorkers = 1024

// relayWorkers returns the outbox relay's worker count: zero (the relay's
// default) with RabbitMQ, embeddedRelayWorkers with the in-process bus.
func relayWorkers(cfg config.Config) int {
	if cfg.RabbitMQ.URL == "" {
		return embeddedRelayWorkers
	}
	return 0
}

// webhooks converts the configured award webhooks.
func webhooks(cfg config.Config) map[award.Key]award.WebhookConfig {
	out := make(map[award.Key]award.WebhookConfig, len(cfg.Webhooks))
	for k, w := range cfg.Webhooks {
		out[award.Key(k)] = award.WebhookConfig{URL: w.URL, Secret: w.Secret}
	}
	return out
}

// newAuthenticator builds the app-token and JWT checks. In open mode without a
// JWT secret it returns an authenticator that refuses the _by_token endpoints.
func newAuthenticator(cfg config.Config) (*auth.Authenticator, error) {
	a, err := auth.New(auth.Config{
		Mode:      auth.Mode(cfg.Auth.Mode),
		JWTSecret: []byte(cfg.Auth.JWTSecret),
		AppTokens: cfg.Auth.AppTokens,
	})
	if err != nil {
		return nil, fmt.Errorf("authentication: %w", err)
	}
	return a, nil
}

// limiterFactory builds per-user draw rate limiters: Redis-backed when Redis is
// configured (the limit holds across the fleet), else in process.
func limiterFactory(rc redis.UniversalClient, prefix string) func(ratelimit.Config) (ratelimit.Limiter, error) {
	return func(c ratelimit.Config) (ratelimit.Limiter, error) {
		if rc != nil {
			return ratelimit.NewRedis(rc, prefix, c, nil)
		}
		return ratelimit.NewMemory(c, ratelimit.MemoryOptions{})
	}
}

// drawCodeRetention is how long the draw answers per minute and code are
// kept: the console shows the last hour.
const drawCodeRetention = 2 * time.Hour

// drawCodeStore returns where the draw answers by code are shared: Redis when
// configured (every instance of the fleet adds to the same minutes), else in
// process (embedded mode is one instance).
func drawCodeStore(rc redis.UniversalClient, prefix string) (tally.Store, error) {
	if rc == nil {
		return tally.NewMemory(drawCodeRetention), nil
	}
	return tally.NewRedis(rc, prefix, "drawcodes", drawCodeRetention)
}
