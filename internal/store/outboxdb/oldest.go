package outboxdb

import (
	"context"
	"fmt"
	"time"

	"github.com/bigmarket/bigmarket/internal/outbox"
)

const qOldest = `SELECT state, MIN(create_time) FROM task WHERE state IN (?, ?) GROUP BY state`

// OldestPending returns, per state of the tasks not yet completed (create:
// written and not yet published or confirmed; fail: publishing failed), the
// creation time of the oldest such task over all shards. States without tasks
// are absent. It feeds the outbox backlog age metric.
func (s *Store) OldestPending(ctx context.Context) (map[outbox.State]time.Time, error) {
	out := map[outbox.State]time.Time{}
	for shard := range s.db.Shards() {
		rows, err := s.db.Shard(shard).Read().QueryContext(ctx, qOldest, string(outbox.StateCreate), string(outbox.StateFail))
		if err != nil {
			return nil, fmt.Errorf("oldest outbox tasks: shard[%d]: %w", shard, err)
		}
		for rows.Next() {
			var state string
			var ms int64
			if err := rows.Scan(&state, &ms); err != nil {
				rows.Close()
				return nil, fmt.Errorf("oldest outbox tasks: shard[%d]: %w", shard, err)
			}
			t := time.UnixMilli(ms)
			if cur, ok := out[outbox.State(state)]; !ok || t.Before(cur) {
				out[outbox.State(state)] = t
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("oldest outbox tasks: shard[%d]: %w", shard, err)
		}
	}
	return out, nil
}
