// Package fencedb stores the stock fences that keep a stock counter rebuild
// from racing the takes in flight (DESIGN §2, §8).
//
// A take is counted in the counter store (Redis) before the fact it pays for (an
// award record, a quota order) commits on the user's shard. A rebuild after a
// cache loss counts committed facts, so it must not count while a transaction
// that took from the lost counter may still commit. The fence is a row per
// counter key in every shard database (table stock_fence):
//
//   - a transaction that takes stock calls Hold for the key BEFORE the take,
//     which reads the row under a shared lock (MySQL: LOCK IN SHARE MODE; an
//     SQLite write transaction holds the database's write lock anyway) kept
//     until the transaction ends;
//   - a rebuild, once the counter is fenced (counter.Fence: every take
//     refused), calls Barrier, which bumps the row's gen on every shard under an
//     exclusive lock, one short transaction per shard. Each bump waits for the
//     shard's transactions holding the row, so when Barrier returns, every
//     transaction that held it before has committed or rolled back, and every
//     transaction that holds it afterwards took (if at all) after the counter was
//     fenced. Counting after Barrier therefore sees every fact that can still
//     commit from the lost counter.
//
// gen tells a transaction retried after a rollback (which dropped its lock)
// whether a rebuild passed in between: a take remembered from the first attempt
// may only be reused when Hold returns the same gen.
//
// No timing assumption is involved: the database's lock order is the fence.
package fencedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/bigmarket/bigmarket/internal/store/sqldb"
)

// Store reads and bumps stock fences. It is safe for concurrent use.
type Store struct {
	db     *sqldb.DB
	hold   string
	ensure string
	bump   string
}

// New returns a Store on db.
func New(db *sqldb.DB) *Store {
	d := db.Dialect()
	s := &Store{
		db:     db,
		hold:   qHold,
		ensure: qEnsure + d.DoNothing([]string{"stock_key"}),
		bump:   qBump + d.Upsert([]string{"stock_key"}, "gen = stock_fence.gen + 1"),
	}
	if d.Name() == sqldb.DriverMySQL {
		s.hold += " LOCK IN SHARE MODE"
	}
	return s
}

const (
	qHold   = `SELECT gen FROM stock_fence WHERE stock_key = ?`
	qEnsure = `INSERT INTO stock_fence (stock_key, gen) VALUES (?, 0) `
	qBump   = `INSERT INTO stock_fence (stock_key, gen) VALUES (?, 1) `
)

// ErrNoFence is returned by Hold for a key whose fence row does not exist on
// the shard yet: end the transaction, call Ensure, and try again. (Creating the
// row inside the transaction would take gap locks that deadlock concurrent
// first takes on MySQL.)
var ErrNoFence = errors.New("fencedb: no stock fence row")

// Hold takes the shared fence of key inside tx (on the shard of route r) and
// returns its generation. Call it before taking stock from key and keep tx
// open until the fact the take pays for is written: the lock lasts until tx
// ends. A key without a row returns an error wrapping ErrNoFence.
func (s *Store) Hold(ctx context.Context, tx *sql.Tx, r sqldb.Route, key string) (int64, error) {
	gen, err := s.read(ctx, s.db.Shard(r.Shard), tx, key)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNoFence
	}
	if err != nil {
		return 0, fmt.Errorf("hold stock fence[%s]: %w", key, err)
	}
	return gen, nil
}

// HoldAllQuery returns a statement that takes the fences of keys (at least
// one) at once, as Hold does each, answering rows of (key, generation) for the
// keys that have a fence row, and its arguments. It runs inside the caller's
// transaction, for instance in a multi-statement request (MySQL).
func (s *Store) HoldAllQuery(keys []string) (query string, args []any) {
	var sb strings.Builder
	sb.WriteString("SELECT stock_key, gen FROM stock_fence WHERE stock_key IN (")
	for i, k := range keys {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString("?")
		args = append(args, k)
	}
	sb.WriteString(")")
	if s.db.Dialect().Name() == sqldb.DriverMySQL {
		sb.WriteString(" ORDER BY stock_key LOCK IN SHARE MODE")
	}
	return sb.String(), args
}

// Ensure creates key's fence row (gen 0) on every shard database where it is
// missing, one short transaction each; existing rows are left alone. Call it
// outside any transaction that holds a fence.
func (s *Store) Ensure(ctx context.Context, key string) error {
	return s.each(ctx, key, s.ensure, "ensure")
}

// read reads key's generation in tx, a write transaction on h, through h's
// prepared statements (SQLite parses it only once).
func (s *Store) read(ctx context.Context, h *sqldb.Handle, tx *sql.Tx, key string) (int64, error) {
	var gen int64
	err := h.QueryRowTx(ctx, tx, s.hold, key).Scan(&gen)
	return gen, err
}

// Barrier bumps key's fence on every shard database (creating missing rows),
// one transaction each, so that every transaction holding it (Hold) before the
// call has ended when it returns. Call it while the counter is fenced, then
// count the committed facts.
func (s *Store) Barrier(ctx context.Context, key string) error {
	return s.each(ctx, key, s.bump, "barrier")
}

// each runs q with key on every shard, one transaction each.
func (s *Store) each(ctx context.Context, key, q, op string) error {
	for i := range s.db.Shards() {
		err := sqldb.InTx(ctx, s.db.Shard(i), func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, q, key)
			return err
		})
		if err != nil {
			return fmt.Errorf("stock fence %s[%s] on shard %d: %w", op, key, i, err)
		}
	}
	return nil
}

// Gen returns key's fence generation on shard i (0 without a row), for tests
// and operators.
func (s *Store) Gen(ctx context.Context, i int, key string) (int64, error) {
	var gen int64
	err := s.db.Shard(i).Read().QueryRowContext(ctx, qHold, key).Scan(&gen)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("stock fence[%s] on shard %d: %w", key, i, err)
	}
	return gen, nil
}
