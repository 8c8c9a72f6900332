package outboxdb

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bigmarket/bigmarket/internal/outbox"
)

// MaxFindOffset bounds Find's offset: every shard reads offset+limit rows.
const MaxFindOffset = 10_000

// Find returns the tasks q selects, newest first, skipping q.Offset of them:
// with a state, by update time (the most recently failed or completed first);
// without, by creation time. A user's tasks are read from the user's shard
// only; otherwise every shard is read. q.Limit ≤ 0 means DefaultListLimit; it
// is capped at MaxListLimit, and q.Offset at MaxFindOffset.
func (s *Store) Find(ctx context.Context, q outbox.ListQuery) ([]outbox.Task, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	offset := min(max(q.Offset, 0), MaxFindOffset)

	var where []string
	var args []any
	for _, c := range []struct{ col, v string }{{"state", string(q.State)}, {"topic", q.Topic}, {"user_id", q.UserID}} {
		if c.v != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.v)
		}
	}
	order := `id DESC`
	key := func(t outbox.Task) time.Time { return t.CreateTime }
	if q.State != "" {
		order = `update_time DESC, id DESC`
		key = func(t outbox.Task) time.Time { return t.UpdateTime }
	}
	query := `SELECT ` + taskColumns + ` FROM task`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY ` + order + ` LIMIT ?`
	args = append(args, offset+limit)

	shards := make([]int, 0, s.db.Shards())
	if q.UserID != "" {
		shards = append(shards, s.ShardOf(q.UserID))
	} else {
		for shard := range s.db.Shards() {
			shards = append(shards, shard)
		}
	}
	var out []outbox.Task
	for _, shard := range shards {
		tasks, err := scan(s.db.Shard(shard).Read().QueryContext(ctx, query, args...))
		if err != nil {
			return nil, fmt.Errorf("find outbox tasks: shard[%d] state[%s] topic[%s] user[%s]: %w", shard, q.State, q.Topic, q.UserID, err)
		}
		out = append(out, tasks...)
	}
	slices.SortStableFunc(out, func(a, b outbox.Task) int { return key(b).Compare(key(a)) })
	if offset >= len(out) {
		return []outbox.Task{}, nil
	}
	out = out[offset:]
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
