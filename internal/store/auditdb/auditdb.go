// Package auditdb stores the admin audit log (table admin_audit of the config
// database): one row per successful admin write, with the name of the admin
// token that made it. Tokens are never stored.
package auditdb

import (
	"context"
	"fmt"
	"time"

	"github.com/bigmarket/bigmarket/internal/store/sqldb"
)

// Entry is one audited admin write.
type Entry struct {
	// ID orders entries: a later write has a larger id.
	ID int64
	// Time is when the write was recorded.
	Time time.Time
	// Actor is the admin token's name ("admin" for the single token).
	Actor string
	// Action names the write, e.g. "campaign.apply", "switch.set".
	Action string
	// Target is what the write changed, e.g. a switch key or a user id.
	Target string
	// Summary says what changed, for people.
	Summary string
}

// Limits of List.
const (
	DefaultListLimit = 50
	MaxListLimit     = 1000
)

// Store reads and writes admin_audit.
type Store struct{ db *sqldb.DB }

// New returns a Store on db's config database.
func New(db *sqldb.DB) *Store { return &Store{db: db} }

const qInsert = `INSERT INTO admin_audit (audit_time, actor, action, target, summary) VALUES (?, ?, ?, ?, ?)`

// Field limits, as the MySQL columns hold them.
const (
	maxActor   = 32
	maxAction  = 64
	maxTarget  = 128
	maxSummary = 4096
)

// Record stores e (its ID is ignored). Over-long fields are cut to the columns'
// sizes.
func (s *Store) Record(ctx context.Context, e Entry) error {
	_, err := s.db.Config().Write().ExecContext(ctx, qInsert, e.Time.UnixMilli(),
		cut(e.Actor, maxActor), cut(e.Action, maxAction), cut(e.Target, maxTarget), cut(e.Summary, maxSummary))
	if err != nil {
		return fmt.Errorf("record admin audit %s: %w", e.Action, err)
	}
	return nil
}

// cut shortens v to at most n bytes without splitting a UTF-8 sequence.
func cut(v string, n int) string {
	if len(v) <= n {
		return v
	}
	for n > 0 && v[n]&0xC0 == 0x80 {
		n--
	}
	return v[:n]
}

const (
	qColumns    = `SELECT id, audit_time, actor, action, target, summary FROM admin_audit`
	qList       = qColumns + ` ORDER BY id DESC LIMIT ?`
	qListBefore = qColumns + ` WHERE id < ? ORDER BY id DESC LIMIT ?`
	qLatest     = qColumns + ` WHERE action = ? AND target = ? ORDER BY id DESC LIMIT 1`
)

// List returns up to limit entries, newest first; before > 0 returns only the
// entries with an id below it (the next page after an entry).
func (s *Store) List(ctx context.Context, limit int, before int64) ([]Entry, error) {
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	db := s.db.Config().Read()
	var out []Entry
	var err error
	if before > 0 {
		out, err = scan(db.QueryContext(ctx, qListBefore, before, limit))
	} else {
		out, err = scan(db.QueryContext(ctx, qList, limit))
	}
	if err != nil {
		return nil, fmt.Errorf("list admin audit: %w", err)
	}
	return out, nil
}

// Latest returns the newest entry of action on target, and false when there is
// none.
func (s *Store) Latest(ctx context.Context, action, target string) (Entry, bool, error) {
	es, err := scan(s.db.Config().Read().QueryContext(ctx, qLatest, action, target))
	if err != nil {
		return Entry{}, false, fmt.Errorf("latest admin audit %s %s: %w", action, target, err)
	}
	if len(es) == 0 {
		return Entry{}, false, nil
	}
	return es[0], true, nil
}

type rowsScanner interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

func scan[R rowsScanner](rows R, err error) ([]Entry, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Entry{}
	for rows.Next() {
		var e Entry
		var ms int64
		if err := rows.Scan(&e.ID, &ms, &e.Actor, &e.Action, &e.Target, &e.Summary); err != nil {
			return nil, err
		}
		e.Time = time.UnixMilli(ms)
		out = append(out, e)
	}
	return out, rows.Err()
}
