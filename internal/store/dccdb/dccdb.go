// Package dccdb stores the dynamic switches (dcc.Store) in the dynamic_config
// table of the configuration database.
package dccdb

import (
	"context"
	"fmt"
	"time"

	"github.com/bigmarket/bigmarket/internal/dcc"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
)

var _ dcc.Store = (*Store)(nil)

// Store implements dcc.Store.
type Store struct{ db *sqldb.DB }

// New returns a Store on db.
func New(db *sqldb.DB) *Store { return &Store{db: db} }

const qAll = `SELECT config_key, config_value FROM dynamic_config`

// All implements dcc.Store.
func (s *Store) All(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.Config().Read().QueryContext(ctx, qAll)
	if err != nil {
		return nil, fmt.Errorf("read switches: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("read switches: %w", err)
		}
		out[k] = v
	}
	return out, rows.Err()
}

// Set implements dcc.Store: an upsert by key.
func (s *Store) Set(ctx context.Context, key, value string, now time.Time) error {
	h := s.db.Config()
	q := `INSERT INTO dynamic_config (config_key, config_value, create_time, update_time) VALUES (?, ?, ?, ?) ` +
		h.Dialect().Upsert([]string{"config_key"}, sqldb.Assign(h.Dialect(), "config_value", "update_time")...)
	if _, err := h.Write().ExecContext(ctx, q, key, value, now.UnixMilli(), now.UnixMilli()); err != nil {
		return fmt.Errorf("set switch %s: %w", key, err)
	}
	return nil
}
