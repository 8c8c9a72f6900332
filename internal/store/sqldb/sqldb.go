// Package sqldb is the SQL foundation shared by the storage packages: it opens the
// configured engine (an embedded SQLite file, or MySQL/MariaDB split into a config
// database and N shard databases of M tables per user table), routes a user to the
// one database and table suffix that hold all of that user's rows, runs
// transactions with bounded retry, applies the embedded schema migrations and hides
// the few differences between the engines behind a tiny Dialect.
//
// Conventions of every table, on both engines: times are BIGINT unix milliseconds,
// money and credits BIGINT hundredths (money.Amount.Cents), rates BIGINT millionths,
// ids of orders, records and messages VARCHAR(32), user ids VARCHAR(64), and each
// row carries create_time and update_time. MySQL tables are utf8mb4 with a binary
// collation, so that text compares byte for byte as it does in SQLite.
//
// Statements are written once with "?" placeholders (both engines accept them) and
// the table suffix placeholder {{suffix}} in the names of per-user tables; Route.SQL
// fills it in.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"modernc.org/sqlite"
)

// Errors returned by the package and mapped to by the stores built on it.
var (
	// ErrDuplicate reports a row that violates a unique key (an id or business
	// number already stored). Stores wrap it with the operation and key.
	ErrDuplicate = errors.New("sqldb: duplicate key")
	// ErrNotFound reports a row that does not exist.
	ErrNotFound = errors.New("sqldb: not found")
	// ErrInvalidConfig reports a Config that Open cannot use.
	ErrInvalidConfig = errors.New("sqldb: invalid config")
)

// Driver names accepted in Config.Driver.
const (
	DriverSQLite = "sqlite"
	DriverMySQL  = "mysql"
)

// SuffixPlaceholder is written in the names of per-user tables (and of their
// indexes) in queries and migration files; Route.SQL replaces it by the route's
// table suffix.
const SuffixPlaceholder = "{{suffix}}"

// Defaults applied by Open for zero Config fields.
const (
	DefaultTablesPerShard    = 4
	DefaultMySQLConns        = 32
	DefaultSQLiteReaders     = 8
	DefaultSQLiteBusyTimeout = 5 * time.Second
)

// Config selects and sizes the engine. The zero value is not usable: SQLite needs
// SQLitePath, MySQL needs ConfigDSN and ShardDSNs.
type Config struct {
	// Driver is DriverSQLite ("sqlite"; the zero value means it) or DriverMySQL
	// ("mysql", also for MariaDB).
	Driver string
	// SQLitePath is the database file in SQLite mode; it is created if missing.
	// Config tables and user tables share it.
	SQLitePath string
	// ConfigDSN is the go-sql-driver/mysql DSN of the config database, with the
	// database name. Open turns on interpolateParams (one round trip per
	// statement), multiStatements (several statements in one round trip:
	// Handle.ExecBatchTx, Handle.QueryMultiTx, a transaction's begin with its
	// first statement) and clientFoundRows
	// (RowsAffected counts matched rows, as in SQLite); parseTime is not needed
	// since times are integers.
	ConfigDSN string
	// ShardDSNs holds one DSN per user database; N = len(ShardDSNs). It must
	// never be reordered or shrunk once data is stored: routing depends on it.
	// Migrate records the layout and DB.CheckLayout refuses another one.
	ShardDSNs []string
	// TablesPerShard is M, the number of tables each user table is split into in
	// every shard database; zero means DefaultTablesPerShard. SQLite always uses
	// one table without suffix. Like N, it must not change once data is stored.
	TablesPerShard int
	// MaxOpenConns bounds each MySQL database's pool, or the SQLite reader pool
	// (the SQLite writer pool always has exactly one connection); zero means
	// DefaultMySQLConns or DefaultSQLiteReaders.
	MaxOpenConns int
	// BusyTimeout is how long SQLite waits for another process's write lock
	// before answering SQLITE_BUSY; zero means DefaultSQLiteBusyTimeout.
	BusyTimeout time.Duration
}

// Handle is one database: the config database or one shard. Transactions and
// writes go through Write; plain reads may use Read. In SQLite mode Write is a pool
// of exactly one connection, so writers queue in Go rather than spin on
// SQLITE_BUSY, and Read is a pool of query-only connections that read the WAL
// concurrently. In MySQL mode both are the same pool.
//
// Never use Write from inside a transaction on the same handle: with SQLite it
// waits for the one connection the transaction holds.
type Handle struct {
	name    string
	write   *sql.DB
	read    *sql.DB
	dialect Dialect
	dbName  string       // MySQL database name, "" for SQLite
	group   *groupCommit // SQLite: group commit of write transactions
	stmts   *stmtCache   // SQLite: statements prepared on the writer pool
	splits  splitCache   // MySQL: how Compact splits each INSERT text
	// mariadb: the server is MariaDB (see MariaDB).
	mariadb bool
}

// MariaDB reports whether h's server is MariaDB, as probed when its pool
// opened: it runs anonymous compound statements (BEGIN NOT ATOMIC … END,
// since MariaDB 10.1.1), which MySQL does not. The batches use MariaDB's forms
// only there (ExecCountedTx's compound statement; locking clauses in the
// parts of a UNION, activitydb), and plain statements elsewhere: production
// is tested on MariaDB only.
func (h *Handle) MariaDB() bool { return h.mariadb }

// Write returns the pool for transactions and writes.
func (h *Handle) Write() *sql.DB { return h.write }

// Read returns the pool for plain reads outside transactions.
func (h *Handle) Read() *sql.DB { return h.read }

// Dialect returns the handle's engine dialect.
func (h *Handle) Dialect() Dialect { return h.dialect }

// Name returns "config" or "shard[i]" (both in SQLite mode, where they are one
// database), for error messages.
func (h *Handle) Name() string { return h.name }

// Route says where a user's rows live: the shard database and the table suffix.
type Route struct {
	// Shard is the index of the shard database, 0 ≤ Shard < DB.Shards().
	Shard int
	// Suffix is appended to per-user table names: "_000" … in MySQL, "" in SQLite.
	Suffix string
}

// SQL returns q with every SuffixPlaceholder replaced by the route's suffix.
func (r Route) SQL(q string) string { return strings.ReplaceAll(q, SuffixPlaceholder, r.Suffix) }

// Table returns the name of the per-user table base in route r, e.g.
// Table("user_award_record", r) = "user_award_record_003".
func Table(base string, r Route) string { return base + r.Suffix }

// DB is the opened storage: the config database and the shard databases. It is
// safe for concurrent use. Close releases it.
type DB struct {
	driver   string
	dialect  Dialect
	config   *Handle
	shards   []*Handle
	suffixes []string
	pools    []*sql.DB // distinct pools, for Close
	ckpt     *checkpointer
}

// Open opens and pings the databases cfg describes. It does not migrate: call
// Migrate. It returns an error wrapping ErrInvalidConfig for a bad Config.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	switch cfg.Driver {
	case "", DriverSQLite:
		return openSQLite(ctx, cfg)
	case DriverMySQL:
		return openMySQL(ctx, cfg)
	}
	return nil, fmt.Errorf("%w: unknown driver %q (want %q or %q)", ErrInvalidConfig, cfg.Driver, DriverSQLite, DriverMySQL)
}

func openSQLite(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.SQLitePath == "" {
		return nil, fmt.Errorf("%w: sqlite: SQLitePath is empty", ErrInvalidConfig)
	}
	if strings.ContainsRune(cfg.SQLitePath, '?') {
		return nil, fmt.Errorf("%w: sqlite: path %q contains '?'", ErrInvalidConfig, cfg.SQLitePath)
	}
	busy := cfg.BusyTimeout
	if busy <= 0 {
		busy = DefaultSQLiteBusyTimeout
	}
	readers := cfg.MaxOpenConns
	if readers <= 0 {
		readers = DefaultSQLiteReaders
	}
	// The writer's connections shield statements inside transactions from
	// their callers' cancellation (see shieldConn).
	base, err := sqlite.NewConnector(sqliteDSN(cfg.SQLitePath, busy, false))
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", cfg.SQLitePath, err)
	}
	write := sql.OpenDB(wrapConnector{base, newShieldConn})
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	// The writer connects first: it creates the file and switches it to WAL.
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", cfg.SQLitePath, err)
	}
	read, err := sql.Open("sqlite", sqliteDSN(cfg.SQLitePath, busy, true))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite %s (readers): %w", cfg.SQLitePath, err)
	}
	read.SetMaxOpenConns(readers)
	read.SetMaxIdleConns(readers)
	if err := read.PingContext(ctx); err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("open sqlite %s (readers): %w", cfg.SQLitePath, err)
	}
	// The checkpointer's own connection (see checkpointer).
	ckpt, err := sql.Open("sqlite", sqliteCheckpointDSN(cfg.SQLitePath))
	if err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("open sqlite %s (checkpointer): %w", cfg.SQLitePath, err)
	}
	ckpt.SetMaxOpenConns(1)
	ckpt.SetMaxIdleConns(1)
	h := &Handle{name: "sqlite", write: write, read: read, dialect: SQLiteDialect{}}
	h.stmts = newStmtCache(write)
	h.group = newGroupCommit(write, h.name, h.stmts)
	return &DB{
		driver:   DriverSQLite,
		dialect:  SQLiteDialect{},
		config:   h,
		shards:   []*Handle{h},
		suffixes: []string{""},
		pools:    []*sql.DB{write, read, ckpt},
		ckpt:     newCheckpointer(ckpt, cfg.SQLitePath+"-wal"),
	}, nil
}

// walAutocheckpoint is the WAL size, in frames (pages), at which the writer's
// commit runs a checkpoint itself. The background checkpointer copies the WAL
// all along, but only the writer's own checkpoint lets the WAL start over; it
// copies the few frames left and syncs the WAL and the database file, and every
// draw waits for those syncs. At about ten frames a draw, 8 192 frames meant
// such a stall several times a second under load; 65 536 frames (a WAL file of
// up to 256 MiB, reused once it has grown) means one every few seconds:
// 2 320–2 630 → 2 740–2 840 draws/s, p99 78–87 → 46–56 ms under wrk at 64
// connections (docs/PERFORMANCE.md). Reopening after a kill -9 with a full WAL
// took 0.3 s.
const walAutocheckpoint = 65536

// sqliteDSN builds the modernc.org/sqlite DSN: WAL, synchronous NORMAL, busy
// timeout, foreign keys off, and for writers transactions begun IMMEDIATE so
// that a transaction that reads then writes never fails on the lock upgrade.
func sqliteDSN(path string, busy time.Duration, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "foreign_keys(0)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		// Savepoints of group commits keep their statement journals in
		// memory rather than in temporary files, and a larger page cache
		// keeps a group's pages from spilling before the commit.
		q.Add("_pragma", "temp_store(MEMORY)")
		q.Add("_pragma", "cache_size(-65536)")
		// The checkpointer's connection copies the WAL in the background; the
		// writer's own automatic checkpoint then has only the last frames
		// left to copy, and lets the next commit start the WAL over.
		q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", walAutocheckpoint))
		q.Set("_txlock", "immediate")
	}
	return path + "?" + q.Encode()
}

// checkpointerBusyTimeout is the busy timeout of the checkpointer's
// connection.
const checkpointerBusyTimeout = time.Second

// sqliteCheckpointDSN is the DSN of the checkpointer's connection.
func sqliteCheckpointDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", checkpointerBusyTimeout.Milliseconds()))
	return path + "?" + q.Encode()
}

// qProbeCompound is the smallest compound statement: MariaDB runs it, MySQL
// answers a syntax error.
const qProbeCompound = "BEGIN NOT ATOMIC DO 0; END"

// probeCompound reports whether p's server runs anonymous compound statements
// (see Handle.MariaDB).
func probeCompound(ctx context.Context, p *sql.DB) (bool, error) {
	_, err := p.ExecContext(ctx, qProbeCompound)
	var me *mysql.MySQLError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &me) && me.Number == mysqlParseError:
		return false, nil
	}
	return false, fmt.Errorf("probe compound statements: %w", err)
}

func openMySQL(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.ConfigDSN == "" || len(cfg.ShardDSNs) == 0 {
		return nil, fmt.Errorf("%w: mysql: ConfigDSN and at least one ShardDSN are required", ErrInvalidConfig)
	}
	m := cfg.TablesPerShard
	if m <= 0 {
		m = DefaultTablesPerShard
	}
	if m > 1000 {
		return nil, fmt.Errorf("%w: mysql: TablesPerShard %d > 1000", ErrInvalidConfig, m)
	}
	conns := cfg.MaxOpenConns
	if conns <= 0 {
		conns = DefaultMySQLConns
	}
	db := &DB{driver: DriverMySQL, dialect: MySQLDialect{}}
	for i := 0; i < m; i++ {
		db.suffixes = append(db.suffixes, fmt.Sprintf("_%03d", i))
	}
	open := func(name, dsn string) (*Handle, error) {
		mc, err := mysql.ParseDSN(dsn)
		if err != nil {
			return nil, fmt.Errorf("%w: mysql %s: %v", ErrInvalidConfig, name, err)
		}
		if mc.DBName == "" {
			return nil, fmt.Errorf("%w: mysql %s: DSN names no database", ErrInvalidConfig, name)
		}
		mc.InterpolateParams = true
		mc.MultiStatements = true
		mc.ClientFoundRows = true
		conn, err := mysql.NewConnector(mc)
		if err != nil {
			return nil, fmt.Errorf("%w: mysql %s: %v", ErrInvalidConfig, name, err)
		}
		// Transactions begin with their first statement (lazybegin.go).
		p := sql.OpenDB(wrapConnector{conn, newLazyConn})
		p.SetMaxOpenConns(conns)
		p.SetMaxIdleConns(conns)
		p.SetConnMaxLifetime(30 * time.Minute)
		db.pools = append(db.pools, p)
		if err := p.PingContext(ctx); err != nil {
			return nil, fmt.Errorf("open mysql %s (%s): %w", name, mc.DBName, err)
		}
		mariadb, err := probeCompound(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("open mysql %s (%s): %w", name, mc.DBName, err)
		}
		return &Handle{name: name, write: p, read: p, dialect: MySQLDialect{}, dbName: mc.Addr + "/" + mc.DBName,
			mariadb: mariadb}, nil
	}
	var err error
	if db.config, err = open("config", cfg.ConfigDSN); err != nil {
		db.Close()
		return nil, err
	}
	seen := map[string]int{}
	for i, dsn := range cfg.ShardDSNs {
		h, err := open(fmt.Sprintf("shard[%d]", i), dsn)
		if err != nil {
			db.Close()
			return nil, err
		}
		if j, dup := seen[h.dbName]; dup {
			db.Close()
			return nil, fmt.Errorf("%w: mysql: shard[%d] and shard[%d] are the same database %s", ErrInvalidConfig, j, i, h.dbName)
		}
		seen[h.dbName] = i
		db.shards = append(db.shards, h)
	}
	return db, nil
}

// Close closes every pool. The DB must not be used afterwards.
func (db *DB) Close() error {
	var errs []error
	if db.ckpt != nil {
		db.ckpt.close()
	}
	if db.config != nil && db.config.group != nil {
		g := db.config.group
		g.close()
	}
	for _, h := range append([]*Handle{db.config}, db.shards...) {
		if h != nil && h.stmts != nil {
			h.stmts.close()
		}
	}
	for _, p := range db.pools {
		errs = append(errs, p.Close())
	}
	return errors.Join(errs...)
}

// Ping checks that every database answers (for readiness probes); it returns the
// first failure, naming the database.
func (db *DB) Ping(ctx context.Context) error {
	seen := map[*sql.DB]bool{}
	for _, h := range append([]*Handle{db.config}, db.shards...) {
		for _, p := range []*sql.DB{h.write, h.read} {
			if seen[p] {
				continue
			}
			seen[p] = true
			if err := p.PingContext(ctx); err != nil {
				return fmt.Errorf("ping %s: %w", h.name, err)
			}
		}
	}
	return nil
}

// Driver returns DriverSQLite or DriverMySQL.
func (db *DB) Driver() string { return db.driver }

// Dialect returns the engine's dialect.
func (db *DB) Dialect() Dialect { return db.dialect }

// Config returns the handle of the config database (in SQLite mode the same
// database as the only shard).
func (db *DB) Config() *Handle { return db.config }

// Shard returns the handle of shard database i, 0 ≤ i < Shards(); it panics
// outside that range.
func (db *DB) Shard(i int) *Handle { return db.shards[i] }

// Shards returns N, the number of shard databases (1 in SQLite mode).
func (db *DB) Shards() int { return len(db.shards) }

// Suffixes returns the table suffixes of every shard, in order: "_000" … "_M-1"
// in MySQL, [""] in SQLite. Cross-shard scans iterate Shards() × Suffixes().
func (db *DB) Suffixes() []string { return append([]string(nil), db.suffixes...) }

// Routes returns every (shard, suffix) pair, shard-major: the tables a cross-shard
// scan must visit.
func (db *DB) Routes() []Route {
	out := make([]Route, 0, len(db.shards)*len(db.suffixes))
	for i := range db.shards {
		for _, s := range db.suffixes {
			out = append(out, Route{Shard: i, Suffix: s})
		}
	}
	return out
}

// Route returns where userID's rows live. The function is part of the storage
// format and must never change:
//
//	h    = FNV-1a 64-bit of the bytes of userID (hash/fnv New64a)
//	slot = h mod (N·M)
//	db   = slot / M,  suffix = fmt.Sprintf("_%03d", slot mod M)
//
// with N = Shards() and M = len(Suffixes()). In SQLite mode (N = M = 1) it is
// always shard 0, suffix "".
func (db *DB) Route(userID string) Route {
	m := uint64(len(db.suffixes))
	slot := HashUserID(userID) % (uint64(len(db.shards)) * m)
	return Route{Shard: int(slot / m), Suffix: db.suffixes[slot%m]}
}

// HashUserID is the routing hash: FNV-1a 64-bit of the bytes of userID.
// It is written out (rather than calling hash/fnv) so that routing does not
// allocate.
func HashUserID(userID string) uint64 {
	const (
		offset64 = 14695981039346656037
		prime64  = 1099511628211
	)
	h := uint64(offset64)
	for i := 0; i < len(userID); i++ {
		h ^= uint64(userID[i])
		h *= prime64
	}
	return h
}
