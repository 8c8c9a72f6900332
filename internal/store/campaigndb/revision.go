package campaigndb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/bigmarket/bigmarket/internal/campaign"
)

// SystemActor is the actor New's Store records: the demo campaign of a first
// start and the CLI's campaign apply.
const SystemActor = "system"

// As returns a Store whose Apply records actor in the revision history (the
// admin token's name for the admin API). Both Stores share the database.
func (s *Store) As(actor string) *Store {
	c := *s
	c.actor = actor
	return &c
}

// Revision history limits.
const (
	DefaultRevisionLimit = 50
	MaxRevisionLimit     = 1000
)

// AppliedRevision is one applied campaign file: when, by whom, and the rows it
// upserted.
type AppliedRevision struct {
	Time    time.Time
	Actor   string
	Summary campaign.Summary
}

const (
	qInsertRevision = `INSERT INTO campaign_revision (revision, actor, summary, create_time) VALUES (?, ?, ?, ?)`
	qRevisions      = `SELECT revision, actor, summary, create_time FROM campaign_revision ORDER BY revision DESC LIMIT ?`
)

// recordRevision stores sum's revision in the history, inside the apply's
// transaction: the history holds exactly the applies that committed.
func (s *Store) recordRevision(ctx context.Context, tx *sql.Tx, sum campaign.Summary, ms int64) error {
	b, err := json.Marshal(sum)
	if err != nil {
		return fmt.Errorf("revision history: %w", err)
	}
	if _, err := tx.ExecContext(ctx, qInsertRevision, sum.Revision, s.actor, string(b), ms); err != nil {
		return fmt.Errorf("revision history: %w", err)
	}
	return nil
}

// Revisions returns up to limit applied campaign files, newest first. Stage
// activations bump the revision too but are no apply: their numbers are
// missing from the history (they are in the admin audit log).
func (s *Store) Revisions(ctx context.Context, limit int) ([]AppliedRevision, error) {
	if limit <= 0 {
		limit = DefaultRevisionLimit
	}
	limit = min(limit, MaxRevisionLimit)
	rows, err := s.db.Config().Read().QueryContext(ctx, qRevisions, limit)
	if err != nil {
		return nil, fmt.Errorf("revision history: %w", err)
	}
	defer rows.Close()
	out := []AppliedRevision{}
	for rows.Next() {
		var r AppliedRevision
		var rev, ms int64
		var sum string
		if err := rows.Scan(&rev, &r.Actor, &sum, &ms); err != nil {
			return nil, fmt.Errorf("revision history: %w", err)
		}
		if err := json.Unmarshal([]byte(sum), &r.Summary); err != nil {
			return nil, fmt.Errorf("revision history: revision %d: %w", rev, err)
		}
		r.Summary.Revision = rev
		r.Time = time.UnixMilli(ms)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("revision history: %w", err)
	}
	return out, nil
}
