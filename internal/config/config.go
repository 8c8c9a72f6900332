// Package config reads bigmarket's configuration once, at start: defaults, then an
// optional YAML file, then BIGMARKET_* environment variables. Other packages never
// read the environment; main hands each its own part.
package config

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
)

// ErrInvalid reports a configuration value that cannot be used.
var ErrInvalid = errors.New("config: invalid")

// Auth modes.
const (
	// AuthOpen trusts the userId in request bodies (the original platform's behaviour).
	AuthOpen = "open"
	// AuthToken requires a partner app token or a user JWT.
	AuthToken = "token"
)

// Config is the whole configuration. The zero value of each field is documented;
// Default returns the values used when nothing is configured.
type Config struct {
	// Addr is the HTTP listen address. Default ":8091".
	Addr string `yaml:"addr"`
	// DataDir holds the embedded database and the generated admin token.
	// Default "./bigmarket-data".
	DataDir string `yaml:"data_dir"`
	// Demo applies the embedded demo campaign on the first start (empty
	// database). Default true.
	Demo bool `yaml:"demo"`
	// Timezone names the zone for day and month quotas and sign-in dates when a
	// campaign sets none. Empty means the server's zone.
	Timezone string `yaml:"timezone"`
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string `yaml:"log_level"`
	// LogFormat is text or json. Default text.
	LogFormat string `yaml:"log_format"`
	// ShutdownTimeout bounds graceful shutdown. Default 15s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// PprofAddr, when set, serves net/http/pprof on this separate address
	// (e.g. "127.0.0.1:6060") for profiling. Empty means off.
	PprofAddr string `yaml:"pprof_addr"`
	// ConfigPoll is how often an instance checks for an applied campaign and for
	// switch changes. Default 1s.
	ConfigPoll time.Duration `yaml:"config_poll"`
	// UI serves the web pages (the lottery page at /) next to the API. False
	// leaves an API-only server. Default true.
	UI bool `yaml:"ui"`

	Database Database `yaml:"database"`
	Redis    Redis    `yaml:"redis"`
	RabbitMQ RabbitMQ `yaml:"rabbitmq"`
	Auth     Auth     `yaml:"auth"`
	HTTP     HTTP     `yaml:"http"`
	Metrics  Metrics  `yaml:"metrics"`
	Outbox   Outbox   `yaml:"outbox"`
	// Webhooks deliver awards of other keys than the credit ones: award key →
	// endpoint. An award key without a webhook is kept as pending_manual.
	Webhooks map[string]Webhook `yaml:"webhooks"`
	// Switches are the dynamic switches' defaults (degradeSwitch,
	// rateLimiterSwitch, …) used until an operator changes them.
	Switches map[string]string `yaml:"switches"`
	// Delivery tunes the delivery of webhook awards.
	Delivery Delivery `yaml:"delivery"`
	// Reconcile tunes the reconciler of award records and rebate orders left
	// unfinished.
	Reconcile Reconcile `yaml:"reconcile"`
}

// Delivery tunes award delivery by webhook: webhook awards are claimed in the
// send_award handler and called by workers of their own, so a slow webhook
// never delays credit awards.
type Delivery struct {
	// WebhookTimeout bounds each webhook call. Zero means 10s.
	WebhookTimeout time.Duration `yaml:"webhook_timeout"`
	// WebhookWorkers is the number of concurrent webhook calls per instance.
	// Zero means 8.
	WebhookWorkers int `yaml:"webhook_workers"`
	// WebhookQueue bounds the claimed webhook awards waiting for a worker;
	// past it the message is redelivered later. Zero means 1024.
	WebhookQueue int `yaml:"webhook_queue"`
	// ClaimTimeout is how long a webhook delivery's claim on its record holds
	// before the reconciler may take the record again (the claimer died). It
	// must exceed webhook_timeout. Zero means twice the longest delivery (4
	// calls and their backoffs), at least 1m.
	ClaimTimeout time.Duration `yaml:"claim_timeout"`
}

// Reconcile tunes the reconciler: one runner across the fleet that redelivers
// award records and rebate orders not finished past a deadline, and moves
// them to failed (with the last error) after its attempts.
type Reconcile struct {
	// Deadline is how long after its last change an unfinished record is
	// redelivered. Zero means 1m; at least 1s.
	Deadline time.Duration `yaml:"deadline"`
	// Every is how often the reconciler looks. Zero means 30s; at least 100ms.
	Every time.Duration `yaml:"every"`
	// MaxAttempts is how many redeliveries a record gets before it is failed.
	// Zero means 5.
	MaxAttempts int `yaml:"max_attempts"`
	// Batch bounds the records taken per table in one run. Zero means 100.
	Batch int `yaml:"batch"`
}

// validateDelivery checks the delivery and reconciler settings.
func (c Config) validateDelivery(bad func(format string, args ...any)) {
	d, r := c.Delivery, c.Reconcile
	if d.WebhookTimeout < 0 || d.ClaimTimeout < 0 || d.WebhookWorkers < 0 || d.WebhookQueue < 0 {
		bad("delivery: webhook_timeout, claim_timeout, webhook_workers and webhook_queue must not be negative")
	}
	timeout := d.WebhookTimeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	if d.ClaimTimeout > 0 && d.ClaimTimeout <= timeout {
		bad("delivery.claim_timeout %v must exceed the webhook timeout %v", d.ClaimTimeout, timeout)
	}
	if r.Deadline != 0 && r.Deadline < time.Second {
		bad("reconcile.deadline %v: want 0 (1m) or at least 1s", r.Deadline)
	}
	if r.Every != 0 && r.Every < 100*time.Millisecond {
		bad("reconcile.every %v: want 0 (30s) or at least 100ms", r.Every)
	}
	if r.MaxAttempts < 0 || r.Batch < 0 {
		bad("reconcile.max_attempts and reconcile.batch must not be negative")
	}
}

// Database selects the SQL engine.
type Database struct {
	// Driver is "sqlite" (embedded, default) or "mysql" (MySQL/MariaDB, sharded).
	Driver string `yaml:"driver"`
	// ConfigDSN is the go-sql-driver DSN of the configuration database (mysql).
	ConfigDSN string `yaml:"config_dsn"`
	// ShardDSNs are the DSNs of the user databases, N of them (mysql).
	ShardDSNs []string `yaml:"shard_dsns"`
	// TablesPerShard is M, the tables each user table is split into per database.
	// Zero means 4 (mysql).
	TablesPerShard int `yaml:"tables_per_shard"`
	// MaxOpenConns bounds each MySQL pool. Zero means the store's default.
	MaxOpenConns int `yaml:"max_open_conns"`
	// DrawBatchers is how many shared draw transactions (batches) run at once
	// per shard (on SQLite, savepoints of the writer's group commit). Zero
	// means 1; -1 runs every draw in a transaction of its own.
	DrawBatchers int `yaml:"draw_batchers"`
	// DrawBatchSize bounds the draws of one batch. Zero means 64.
	DrawBatchSize int `yaml:"draw_batch_size"`
	// CreditBatchers is how many shared credit delivery transactions run at
	// once per shard. Zero means 1; -1 runs every delivery in a transaction
	// of its own.
	CreditBatchers int `yaml:"credit_batchers"`
	// CreditPace is the least time between the starts of a shard's credit
	// batches while fewer than a whole batch wait (MySQL). Zero means 25 ms;
	// negative means none.
	CreditPace time.Duration `yaml:"credit_pace"`
	// QuotaCache bounds the entries of the quota cache of batched draws
	// (MySQL): draws whose quota rows it holds skip the locked reads, their
	// takes checked against it. Zero means 65 536; negative means off.
	QuotaCache int `yaml:"quota_cache"`
}

// Redis configures counters, locks and leases. No address means in-process.
type Redis struct {
	// Addrs is one address (single node) or several (Redis Cluster).
	Addrs []string `yaml:"addrs"`
	// Password authenticates when set.
	Password string `yaml:"password"`
	// DB selects the logical database (single node only).
	DB int `yaml:"db"`
	// Prefix starts every key. Empty means "bigmarket:".
	Prefix string `yaml:"prefix"`
	// AllowEviction lets an instance start on a server whose maxmemory-policy
	// is allkeys-* (which may evict stock counters: refused takes while they are
	// rebuilt). False (the default) refuses to start on such a server.
	AllowEviction bool `yaml:"allow_eviction"`
	// ReplicaAcks is how many replicas must confirm a stock take (WAIT on the
	// key's master) before it is granted; fewer in ReplicaAckTimeout refuse
	// the take (undersell). Set it on a Redis with replicas (Redis Cluster, or
	// a primary with replicas), with min-replicas-to-write, so that a failover
	// cannot lose granted takes and sell them twice. Zero (the default) means
	// no WAIT; at most MaxReplicaAcks. Needs Addrs.
	ReplicaAcks int `yaml:"replica_acks"`
	// ReplicaAckTimeout bounds each take's WAIT. Zero means 100ms; at most
	// MaxReplicaAckTimeout.
	ReplicaAckTimeout time.Duration `yaml:"replica_ack_timeout"`
}

// RabbitMQ configures events. No URL means the in-process bus.
type RabbitMQ struct {
	// URL is an amqp:// URL.
	URL string `yaml:"url"`
	// Exchange is the topic exchange. Empty means "bigmarket".
	Exchange string `yaml:"exchange"`
	// QueuePrefix starts every queue name. Empty means "bigmarket.".
	QueuePrefix string `yaml:"queue_prefix"`
	// ConnectTimeout bounds the first connection at start; past it the
	// instance serves anyway and keeps connecting. Zero means 10s.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
}

// Auth configures authentication.
type Auth struct {
	// Mode is AuthOpen or AuthToken. Default AuthOpen (the embedded demo).
	Mode string `yaml:"mode"`
	// AdminToken is the bearer token of admin endpoints. Empty means one is
	// generated on first start and stored in the data directory.
	AdminToken string `yaml:"admin_token"`
	// AdminTokens are further admin tokens, each with a name the audit log
	// records as the actor (the single AdminToken is named "admin"). Names are
	// 1–32 of [a-z0-9_-], tokens at least 16 bytes, both unique.
	AdminTokens AdminTokens `yaml:"admin_tokens"`
	// JWTSecret signs and checks user tokens (HS256, claim openId). Empty
	// disables the _by_token endpoints in token mode.
	JWTSecret string `yaml:"jwt_secret"`
	// AppTokens are the partner app tokens accepted in X-App-Token.
	AppTokens []string `yaml:"app_tokens"`
}

// HTTP configures the HTTP server.
type HTTP struct {
	// AllowedOrigins lists CORS origins; "*" allows all. Empty means "*" in
	// open mode and none in token mode.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// MaxBodyBytes bounds request bodies. Zero means 1 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// DrawTimeout is the time budget of a draw; past it the draw answers 0006.
	// Zero means 2s.
	DrawTimeout time.Duration `yaml:"draw_timeout"`
	// ReadHeaderTimeout bounds reading a request's headers. Default 10s; must
	// be positive.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// ReadTimeout bounds reading a whole request, body included. Default 30s;
	// must be positive.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// WriteTimeout bounds a request from the end of its headers to the end of
	// its answer. Default 30s; must be positive and longer than DrawTimeout.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// IdleTimeout bounds how long a keep-alive connection waits for its next
	// request. Default 2m; must be positive.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// MaxHeaderBytes bounds a request's header block. Default 64 KiB; must be
	// between 1 and 1 MiB.
	MaxHeaderBytes int `yaml:"max_header_bytes"`
}

// Metrics configures the Prometheus endpoint.
type Metrics struct {
	// Addr, when set, serves GET /metrics (without a token) on this separate
	// address, e.g. "127.0.0.1:9091" or a private interface, and the main
	// listener stops serving it. Empty means /metrics is on the main listener.
	Addr string `yaml:"addr"`
	// RequireToken makes /metrics on the main listener need the admin token
	// (Authorization: Bearer …), as Prometheus' authorization setting sends
	// it. Default true; false serves it to anyone who reaches the listener.
	RequireToken bool `yaml:"require_token"`
}

// Outbox configures the event outbox (the task table of every shard).
type Outbox struct {
	// Retention is how long a completed task is kept (for operators and
	// audits) before one instance of the fleet deletes it, e.g. "168h". Tasks
	// in create or fail are never deleted. Zero keeps completed tasks forever.
	// Default 168h (7 days).
	Retention time.Duration `yaml:"retention"`
}

// Webhook is an award delivery endpoint.
type Webhook struct {
	URL    string `yaml:"url"`
	Secret string `yaml:"secret"` // HMAC-SHA256 key of the signature header
}

// Default returns the configuration used when nothing is configured.
func Default() Config {
	return Config{
		Addr:            ":8091",
		DataDir:         "./bigmarket-data",
		Demo:            true,
		UI:              true,
		LogLevel:        "info",
		LogFormat:       "text",
		ShutdownTimeout: 15 * time.Second,
		ConfigPoll:      time.Second,
		Database:        Database{Driver: "sqlite"},
		Auth:            Auth{Mode: AuthOpen},
		HTTP: HTTP{
			MaxBodyBytes:      1 << 20,
			DrawTimeout:       2 * time.Second,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
		},
		Metrics: Metrics{RequireToken: true},
		Outbox:  Outbox{Retention: 7 * 24 * time.Hour},
	}
}

// Load builds the configuration: defaults, then the YAML file at path (if path is
// not empty), then the environment given as getenv (os.Getenv in main).
func Load(path string, getenv func(string) string) (Config, error) {
	c := Default()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return Config{}, fmt.Errorf("config: read %s: %w", path, err)
		}
		if err := yaml.UnmarshalWithOptions(b, &c, yaml.Strict()); err != nil {
			return Config{}, fmt.Errorf("config: parse %s: %w", path, err)
		}
	}
	if err := c.applyEnv(getenv); err != nil {
		return Config{}, err
	}
	return c, c.Validate()
}

func (c *Config) applyEnv(getenv func(string) string) error {
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	list := func(name string, dst *[]string) {
		if v := getenv(name); v != "" {
			*dst = splitList(v)
		}
	}
	var errs []error
	boolean := func(name string, dst *bool) {
		if v := getenv(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%w: %s=%q is not a boolean", ErrInvalid, name, v))
				return
			}
			*dst = b
		}
	}
	integer := func(name string, dst *int) {
		if v := getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%w: %s=%q is not an integer", ErrInvalid, name, v))
				return
			}
			*dst = n
		}
	}
	duration := func(name string, dst *time.Duration) {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%w: %s=%q is not a duration (e.g. 168h, 30m)", ErrInvalid, name, v))
				return
			}
			*dst = d
		}
	}
	str("BIGMARKET_ADDR", &c.Addr)
	str("BIGMARKET_DATA_DIR", &c.DataDir)
	boolean("BIGMARKET_DEMO", &c.Demo)
	boolean("BIGMARKET_UI", &c.UI)
	str("BIGMARKET_TIMEZONE", &c.Timezone)
	str("BIGMARKET_PPROF_ADDR", &c.PprofAddr)
	str("BIGMARKET_LOG_LEVEL", &c.LogLevel)
	str("BIGMARKET_LOG_FORMAT", &c.LogFormat)
	str("BIGMARKET_DB_DRIVER", &c.Database.Driver)
	str("BIGMARKET_MYSQL_CONFIG_DSN", &c.Database.ConfigDSN)
	list("BIGMARKET_MYSQL_SHARD_DSNS", &c.Database.ShardDSNs)
	integer("BIGMARKET_MYSQL_TABLES_PER_SHARD", &c.Database.TablesPerShard)
	integer("BIGMARKET_MYSQL_DRAW_BATCHERS", &c.Database.DrawBatchers)
	integer("BIGMARKET_MYSQL_DRAW_BATCH_SIZE", &c.Database.DrawBatchSize)
	integer("BIGMARKET_MYSQL_CREDIT_BATCHERS", &c.Database.CreditBatchers)
	duration("BIGMARKET_MYSQL_CREDIT_PACE", &c.Database.CreditPace)
	integer("BIGMARKET_MYSQL_QUOTA_CACHE", &c.Database.QuotaCache)
	list("BIGMARKET_REDIS_ADDRS", &c.Redis.Addrs)
	str("BIGMARKET_REDIS_PASSWORD", &c.Redis.Password)
	str("BIGMARKET_REDIS_PREFIX", &c.Redis.Prefix)
	boolean("BIGMARKET_REDIS_ALLOW_EVICTION", &c.Redis.AllowEviction)
	integer("BIGMARKET_REDIS_REPLICA_ACKS", &c.Redis.ReplicaAcks)
	duration("BIGMARKET_REDIS_REPLICA_ACK_TIMEOUT", &c.Redis.ReplicaAckTimeout)
	str("BIGMARKET_AMQP_URL", &c.RabbitMQ.URL)
	str("BIGMARKET_AMQP_EXCHANGE", &c.RabbitMQ.Exchange)
	str("BIGMARKET_AMQP_QUEUE_PREFIX", &c.RabbitMQ.QueuePrefix)
	str("BIGMARKET_AUTH_MODE", &c.Auth.Mode)
	str("BIGMARKET_ADMIN_TOKEN", &c.Auth.AdminToken)
	if v := getenv("BIGMARKET_ADMIN_TOKENS"); v != "" {
		t, err := ParseAdminTokens(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("BIGMARKET_ADMIN_TOKENS: %w", err))
		}
		c.Auth.AdminTokens = t
	}
	str("BIGMARKET_JWT_SECRET", &c.Auth.JWTSecret)
	list("BIGMARKET_APP_TOKENS", &c.Auth.AppTokens)
	list("BIGMARKET_CORS_ORIGINS", &c.HTTP.AllowedOrigins)
	str("BIGMARKET_METRICS_ADDR", &c.Metrics.Addr)
	boolean("BIGMARKET_METRICS_REQUIRE_TOKEN", &c.Metrics.RequireToken)
	duration("BIGMARKET_OUTBOX_RETENTION", &c.Outbox.Retention)
	return errors.Join(errs...)
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Validate checks values that would otherwise fail later, and returns every
// problem at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...))
	}
	if c.Addr == "" {
		bad("addr is empty")
	}
	switch c.Database.Driver {
	case "sqlite":
		if c.DataDir == "" {
			bad("data_dir is empty")
		}
	case "mysql":
		if c.Database.ConfigDSN == "" || len(c.Database.ShardDSNs) == 0 {
			bad("database.driver mysql needs config_dsn and at least one of shard_dsns")
		}
	default:
		bad("database.driver %q: want sqlite or mysql", c.Database.Driver)
	}
	switch c.Auth.Mode {
	case AuthOpen, AuthToken:
	default:
		bad("auth.mode %q: want open or token", c.Auth.Mode)
	}
	if c.Timezone != "" {
		if _, err := time.LoadLocation(c.Timezone); err != nil {
			bad("timezone %q: %v", c.Timezone, err)
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log_level %q: want debug, info, warn or error", c.LogLevel)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		bad("log_format %q: want text or json", c.LogFormat)
	}
	c.validateNumbers(bad)
	c.validateAdminTokens(bad)
	c.validateDelivery(bad)
	for key, w := range c.Webhooks {
		if !strings.HasPrefix(w.URL, "http://") && !strings.HasPrefix(w.URL, "https://") {
			bad("webhooks.%s.url %q: want an http(s) URL", key, w.URL)
		}
	}
	return errors.Join(errs...)
}

// Limits of numbers in the configuration.
const (
	// MaxTablesPerShard is the most tables per shard database: table suffixes
	// have three digits (_000 … _999).
	MaxTablesPerShard = 1000 - 1
	// MaxHeaderBytesLimit is the largest accepted http.max_header_bytes (Go's
	// own default).
	MaxHeaderBytesLimit = 1 << 20
	// MaxReplicaAcks is the largest accepted redis.replica_acks.
	MaxReplicaAcks = 16
	// MaxReplicaAckTimeout is the largest accepted redis.replica_ack_timeout:
	// below the Redis client's 3 s read timeout, and within a draw's budget.
	MaxReplicaAckTimeout = time.Second
)

// validateNumbers checks every duration and number, naming the key of each bad
// one: a duration without a meaning for zero must be positive, the others must
// not be negative.
func (c Config) validateNumbers(bad func(format string, args ...any)) {
	positive := func(key string, d time.Duration) {
		if d <= 0 {
			bad("%s %s: want a positive duration", key, d)
		}
	}
	notNegative := func(key string, d time.Duration) {
		if d < 0 {
			bad("%s %s: want zero (the default) or a positive duration", key, d)
		}
	}
	between := func(key string, n, lo, hi int64) {
		if n < lo || n > hi {
			bad("%s %d: want %d…%d", key, n, lo, hi)
		}
	}
	positive("shutdown_timeout", c.ShutdownTimeout)
	positive("config_poll", c.ConfigPoll)
	positive("http.read_header_timeout", c.HTTP.ReadHeaderTimeout)
	positive("http.read_timeout", c.HTTP.ReadTimeout)
	positive("http.write_timeout", c.HTTP.WriteTimeout)
	positive("http.idle_timeout", c.HTTP.IdleTimeout)
	notNegative("http.draw_timeout", c.HTTP.DrawTimeout)
	notNegative("rabbitmq.connect_timeout", c.RabbitMQ.ConnectTimeout)
	if draw := c.HTTP.DrawTimeout; c.HTTP.WriteTimeout > 0 && c.HTTP.WriteTimeout <= max(draw, 2*time.Second) {
		bad("http.write_timeout %s: want longer than the draw budget http.draw_timeout (%s), or draws are cut before they answer",
			c.HTTP.WriteTimeout, max(draw, 2*time.Second))
	}
	between("http.max_header_bytes", int64(c.HTTP.MaxHeaderBytes), 1, MaxHeaderBytesLimit)
	if c.HTTP.MaxBodyBytes < 0 {
		bad("http.max_body_bytes %d: want zero (1 MiB) or a positive size", c.HTTP.MaxBodyBytes)
	}
	between("database.tables_per_shard", int64(c.Database.TablesPerShard), 0, MaxTablesPerShard)
	between("database.draw_batchers", int64(c.Database.DrawBatchers), -1, 1024)
	between("database.draw_batch_size", int64(c.Database.DrawBatchSize), 0, 4096)
	between("database.credit_batchers", int64(c.Database.CreditBatchers), -1, 1024)
	if c.Database.CreditPace > time.Second {
		bad("database.credit_pace %s: want at most 1s (deliveries wait for it)", c.Database.CreditPace)
	}
	if c.Database.MaxOpenConns < 0 {
		bad("database.max_open_conns %d: want zero (the store's default) or a positive number", c.Database.MaxOpenConns)
	}
	if c.Redis.DB < 0 {
		bad("redis.db %d: want zero or a positive database number", c.Redis.DB)
	}
	if c.Outbox.Retention < 0 {
		bad("outbox.retention %s: want zero (keep completed tasks forever) or a positive duration such as 168h", c.Outbox.Retention)
	}
	between("redis.replica_acks", int64(c.Redis.ReplicaAcks), 0, MaxReplicaAcks)
	if c.Redis.ReplicaAcks > 0 && len(c.Redis.Addrs) == 0 {
		bad("redis.replica_acks %d: needs redis.addrs (in-process counters have no replicas)", c.Redis.ReplicaAcks)
	}
	notNegative("redis.replica_ack_timeout", c.Redis.ReplicaAckTimeout)
	if c.Redis.ReplicaAckTimeout > MaxReplicaAckTimeout {
		bad("redis.replica_ack_timeout %s: want at most %s (every take may wait this long)", c.Redis.ReplicaAckTimeout, MaxReplicaAckTimeout)
	}
}
