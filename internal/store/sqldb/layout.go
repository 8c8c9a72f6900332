package sqldb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// ErrLayoutMismatch reports a configured shard layout (N shard databases, M
// tables per shard, the order of the shard DSNs) that differs from the one
// recorded in the databases: routing would send users to other, empty tables.
var ErrLayoutMismatch = errors.New("sqldb: shard layout mismatch")

// The migration version that creates shard_layout (config) and shard_marker
// (every shard database).
const layoutVersion = 9

const (
	qLayoutMigrated = `SELECT COUNT(*) FROM schema_migrations WHERE scope = ? AND version = ? AND suffix = ''`
	qReadLayout     = `SELECT layout_id, shards, tables_per_shard, complete, create_time FROM shard_layout WHERE id = 1`
	qReadMarker     = `SELECT layout_id, shard_index, shards, tables_per_shard FROM shard_marker WHERE id = 1`
	qCompleteLayout = `UPDATE shard_layout SET complete = 1, update_time = ? WHERE id = 1 AND layout_id = ?`
)

// layout is the shard_layout row.
type layout struct {
	id       string
	shards   int
	tables   int
	complete bool
	created  time.Time
}

// marker is a shard_marker row.
type marker struct {
	layoutID string
	index    int
	shards   int
	tables   int
}

// CheckLayout compares the configured shard layout with the one recorded in
// the databases and refuses a mismatch (ErrLayoutMismatch, saying what is
// recorded and what is configured): another number of shard databases or of
// tables per shard, shard DSNs in another order, a shard DSN naming a database
// that is not the recorded shard (a new, empty or foreign one). Databases
// migrated before layouts were recorded get theirs recorded now, as configured:
// the first start (or migrate) after the upgrade fixes it. Migrate calls it;
// serve calls it before using the databases. It fails, asking for `bigmarket
// migrate`, when the layout tables are not migrated yet.
func (db *DB) CheckLayout(ctx context.Context) error {
	return db.checkLayout(ctx, true)
}

// checkLayout checks the recorded layout. With record it records what is
// missing (and requires the layout tables); without, it checks only what is
// already recorded (Migrate, before creating anything).
func (db *DB) checkLayout(ctx context.Context, record bool) error {
	n, m := len(db.shards), len(db.suffixes)
	configured := fmt.Sprintf("%d × %d (%d shard DSNs, %d tables per shard)", n, m, n, m)
	if ok, err := layoutMigrated(ctx, db.config, scopeConfig); err != nil {
		return err
	} else if !ok {
		if record {
			return fmt.Errorf("shard layout: the config database%s lacks migration %s/%03d: run `bigmarket migrate`", db.config.where(), scopeConfig, layoutVersion)
		}
		return nil
	}
	rec, ok, err := readLayout(ctx, db.config)
	if err != nil {
		return err
	}
	if !ok {
		if !record {
			return nil
		}
		if rec, err = db.recordLayout(ctx); err != nil {
			return err
		}
	}
	recorded := fmt.Sprintf("the config database records %d shard databases × %d tables per shard (layout %s, recorded %s)",
		rec.shards, rec.tables, rec.id, rec.created.UTC().Format(time.RFC3339))
	if rec.shards != n || rec.tables != m {
		return fmt.Errorf("%w: %s; configured: %s. Routing depends on both numbers: changing them sends users to other, empty tables (moving user rows is not supported)",
			ErrLayoutMismatch, recorded, configured)
	}
	for i, h := range db.shards {
		if err := db.checkMarker(ctx, i, h, rec, record, recorded); err != nil {
			return err
		}
	}
	if record && !rec.complete {
		if _, err := db.config.write.ExecContext(ctx, qCompleteLayout, time.Now().UnixMilli(), rec.id); err != nil {
			return fmt.Errorf("shard layout: mark complete: %w", err)
		}
	}
	return nil
}

// checkMarker checks shard i's marker against rec, recording it when rec is
// not complete yet (a layout being recorded).
func (db *DB) checkMarker(ctx context.Context, i int, h *Handle, rec layout, record bool, recorded string) error {
	where := fmt.Sprintf("shard[%d]%s", i, h.where())
	migrated, err := layoutMigrated(ctx, h, scopeShard)
	if err != nil {
		return err
	}
	var mk marker
	found := false
	if migrated {
		if mk, found, err = readMarker(ctx, h); err != nil {
			return err
		}
	}
	if !found {
		switch {
		case rec.complete:
			return fmt.Errorf("%w: %s has no layout marker, but %s and every shard was marked: it is not the database recorded as shard %d (a new or replaced database?)",
				ErrLayoutMismatch, where, recorded, i)
		case !record:
			return nil
		case !migrated:
			return fmt.Errorf("shard layout: %s lacks migration %s/%03d: run `bigmarket migrate`", where, scopeShard, layoutVersion)
		}
		now := time.Now().UnixMilli()
		q := `INSERT INTO shard_marker (id, layout_id, shard_index, shards, tables_per_shard, create_time, update_time) VALUES (1, ?, ?, ?, ?, ?, ?) ` +
			h.dialect.DoNothing([]string{"id"})
		if _, err := h.write.ExecContext(ctx, q, rec.id, i, rec.shards, rec.tables, now, now); err != nil {
			return fmt.Errorf("shard layout: mark %s: %w", where, err)
		}
		if mk, found, err = readMarker(ctx, h); err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("shard layout: mark %s: the marker is not there after writing it", where)
		}
	}
	switch {
	case mk.layoutID != rec.id:
		return fmt.Errorf("%w: %s belongs to another layout (%s, shard %d of %d × %d), not to the one %s",
			ErrLayoutMismatch, where, mk.layoutID, mk.index, mk.shards, mk.tables, recorded)
	case mk.index != i:
		return fmt.Errorf("%w: %s is shard %d of the recorded layout: the shard DSNs are out of order; list them in the recorded order (%s)",
			ErrLayoutMismatch, where, mk.index, recorded)
	}
	return nil
}

// recordLayout records the configured layout in the config database, unless a
// concurrent migrate or start did first, and returns what is recorded. It
// refuses when a shard database already carries a marker: the config database
// has lost its record (or the config DSN names another database).
func (db *DB) recordLayout(ctx context.Context) (layout, error) {
	for i, h := range db.shards {
		migrated, err := layoutMigrated(ctx, h, scopeShard)
		if err != nil || !migrated {
			continue
		}
		mk, found, err := readMarker(ctx, h)
		if err != nil {
			return layout{}, err
		}
		if found {
			// A concurrent migrate or start may have recorded the layout and
			// begun marking the shards since it was read.
			if rec, ok, err := readLayout(ctx, db.config); err != nil || ok {
				return rec, err
			}
			return layout{}, fmt.Errorf("%w: shard[%d]%s is marked as shard %d of layout %s (%d × %d), but the config database records no layout: does the config DSN name the right database?",
				ErrLayoutMismatch, i, h.where(), mk.index, mk.layoutID, mk.shards, mk.tables)
		}
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return layout{}, fmt.Errorf("shard layout: identity: %w", err)
	}
	now := time.Now().UnixMilli()
	q := `INSERT INTO shard_layout (id, layout_id, shards, tables_per_shard, complete, create_time, update_time) VALUES (1, ?, ?, ?, 0, ?, ?) ` +
		db.config.dialect.DoNothing([]string{"id"})
	if _, err := db.config.write.ExecContext(ctx, q, hex.EncodeToString(b[:]), len(db.shards), len(db.suffixes), now, now); err != nil {
		return layout{}, fmt.Errorf("shard layout: record: %w", err)
	}
	rec, ok, err := readLayout(ctx, db.config)
	if err == nil && !ok {
		err = errors.New("shard layout: record: the row is not there after writing it")
	}
	return rec, err
}

// where names a MySQL database for messages: " (host:port/name)"; "" for SQLite.
func (h *Handle) where() string {
	if h.dbName == "" {
		return ""
	}
	return " (" + h.dbName + ")"
}

// layoutMigrated reports whether h has the layout migration of scope applied.
// A database without schema_migrations has not.
func layoutMigrated(ctx context.Context, h *Handle, scope string) (bool, error) {
	var n int
	if err := h.write.QueryRowContext(ctx, qLayoutMigrated, scope, layoutVersion).Scan(&n); err != nil {
		if isNoSuchTable(err) {
			return false, nil // never migrated
		}
		return false, fmt.Errorf("shard layout: read schema_migrations of %s: %w", h.name, err)
	}
	return n > 0, nil
}

// isNoSuchTable reports a query on a table that does not exist (MySQL error
// 1146, SQLite "no such table").
func isNoSuchTable(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1146
	}
	return strings.Contains(err.Error(), "no such table")
}

func readLayout(ctx context.Context, h *Handle) (layout, bool, error) {
	var l layout
	var complete, created int64
	err := h.write.QueryRowContext(ctx, qReadLayout).Scan(&l.id, &l.shards, &l.tables, &complete, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return layout{}, false, nil
	}
	if err != nil {
		return layout{}, false, fmt.Errorf("shard layout: read %s: %w", h.name, err)
	}
	l.complete, l.created = complete != 0, time.UnixMilli(created)
	return l, true, nil
}

func readMarker(ctx context.Context, h *Handle) (marker, bool, error) {
	var mk marker
	err := h.write.QueryRowContext(ctx, qReadMarker).Scan(&mk.layoutID, &mk.index, &mk.shards, &mk.tables)
	if errors.Is(err, sql.ErrNoRows) {
		return marker{}, false, nil
	}
	if err != nil {
		return marker{}, false, fmt.Errorf("shard layout: read marker of %s: %w", h.name, err)
	}
	return mk, true, nil
}
