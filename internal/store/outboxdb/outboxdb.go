// Package outboxdb stores outbox tasks in the task table of every shard database
// (one table per shard, not split by table suffix): a task lives on its user's
// shard, so that it commits with the fact it announces.
package outboxdb

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bigmarket/bigmarket/internal/outbox"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
)

// Limits of List.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

// Store is the SQL outbox store. It is safe for concurrent use.
type Store struct {
	db *sqldb.DB
}

var (
	_ outbox.Store  = (*Store)(nil)
	_ outbox.Purger = (*Store)(nil)
)

// New returns a Store on db.
func New(db *sqldb.DB) *Store { return &Store{db: db} }

// Shards implements outbox.Store.
func (s *Store) Shards() int { return s.db.Shards() }

// ShardOf implements outbox.Store: the shard of userID's route.
func (s *Store) ShardOf(userID string) int { return s.db.Route(userID).Shard }

const qInsert = `INSERT INTO task (user_id, topic, message_id, message, state, attempts, create_time, update_time)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?)`

// InsertTx stores t in the task table of r.Shard, inside the transaction the
// caller runs on the user's shard (r is t.UserID's route), so that the task
// commits or rolls back with the fact it announces. A message id already stored
// returns an error wrapping sqldb.ErrDuplicate.
func (s *Store) InsertTx(ctx context.Context, tx *sql.Tx, r sqldb.Route, t outbox.Task) error {
	_, err := s.db.Shard(r.Shard).ExecTx(ctx, tx, qInsert, insertArgs(t)...)
	if err != nil {
		if s.db.Dialect().IsDuplicate(err) {
			err = fmt.Errorf("%w: %w", sqldb.ErrDuplicate, err)
		}
		return fmt.Errorf("insert outbox task: shard[%d] topic[%s] id[%s]: %w", r.Shard, t.Topic, t.MessageID, err)
	}
	return nil
}

// AddInsert adds the insert of t to w, a batch of a transaction the caller
// runs on t.UserID's shard (r is the user's route) and runs with
// sqldb.Handle.ExecBatchTx, so that the task reaches the database in the same
// round trip as the fact it announces. A message id already stored makes the
// batch fail with an error that sqldb.Dialect.IsDuplicate reports.
func (s *Store) AddInsert(w *sqldb.Batch, r sqldb.Route, t outbox.Task) {
	w.Add("insert outbox task: shard["+strconv.Itoa(r.Shard)+"] topic["+t.Topic+"] id["+t.MessageID+"]", qInsert, insertArgs(t)...)
}

func insertArgs(t outbox.Task) []any {
	state := t.State
	if state == "" {
		state = outbox.StateCreate
	}
	return []any{t.UserID, t.Topic, t.MessageID, string(t.Body), string(state), t.Attempts,
		t.CreateTime.UnixMilli(), t.UpdateTime.UnixMilli()}
}

// maxMarkBatch bounds the ids of one UPDATE … IN (…) statement.
const maxMarkBatch = 500

// MarkCompleted implements outbox.Store: it sets the tasks with these message
// ids on shard to completed with update time now, in one statement per 500 ids.
// Unknown ids are ignored.
func (s *Store) MarkCompleted(ctx context.Context, shard int, messageIDs []string, now time.Time) error {
	h := s.db.Shard(shard)
	for ids := range slices.Chunk(messageIDs, maxMarkBatch) {
		q := `UPDATE task SET state = ?, last_error = '', update_time = ? WHERE message_id IN (?` + strings.Repeat(", ?", len(ids)-1) + `)`
		args := make([]any, 0, len(ids)+2)
		args = append(args, string(outbox.StateCompleted), now.UnixMilli())
		for _, id := range ids {
			args = append(args, id)
		}
		if _, err := h.Write().ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("mark outbox tasks completed: shard[%d] %d tasks from id[%s]: %w", shard, len(ids), ids[0], err)
		}
	}
	return nil
}

const qMarkFailed = `UPDATE task SET state = ?, attempts = ?, last_error = ?, update_time = ? WHERE message_id = ? AND state <> ?`

// MarkFailed implements outbox.Store: it sets the task to fail with attempts,
// lastError and update time now, unless it is completed already (a concurrent publish
// succeeded). An unknown id is ignored.
func (s *Store) MarkFailed(ctx context.Context, shard int, messageID string, attempts int, lastError string, now time.Time) error {
	_, err := s.db.Shard(shard).Exec(ctx, qMarkFailed, string(outbox.StateFail), attempts, lastError, now.UnixMilli(),
		messageID, string(outbox.StateCompleted))
	if err != nil {
		return fmt.Errorf("mark outbox task failed: shard[%d] id[%s]: %w", shard, messageID, err)
	}
	return nil
}

const taskColumns = `user_id, topic, message_id, message, state, attempts, last_error, create_time, update_time`

const (
	qRetryCreate = `SELECT ` + taskColumns + ` FROM task WHERE state = ? AND update_time < ?
	ORDER BY update_time, id LIMIT ?`
	qRetryFail = `SELECT ` + taskColumns + ` FROM task WHERE state = ? AND attempts < ?
	ORDER BY update_time, id LIMIT ?`
)

// Retryable implements outbox.Store: up to limit tasks of shard, the stale
// create tasks (update time before olderThan) first, then the fail tasks with
// fewer than maxAttempts attempts, each group least recently updated first.
func (s *Store) Retryable(ctx context.Context, shard int, olderThan time.Time, maxAttempts, limit int) ([]outbox.Task, error) {
	if limit <= 0 {
		return nil, nil
	}
	db := s.db.Shard(shard).Read()
	out, err := scan(db.QueryContext(ctx, qRetryCreate, string(outbox.StateCreate), olderThan.UnixMilli(), limit))
	if err != nil {
		return nil, fmt.Errorf("retryable outbox tasks: shard[%d]: %w", shard, err)
	}
	if len(out) < limit {
		fail, err := scan(db.QueryContext(ctx, qRetryFail, string(outbox.StateFail), maxAttempts, limit-len(out)))
		if err != nil {
			return nil, fmt.Errorf("retryable outbox tasks: shard[%d]: %w", shard, err)
		}
		out = append(out, fail...)
	}
	return out, nil
}

// List returns up to limit tasks from all shards, newest first: with a state,
// the tasks in that state by update time (the most recently failed or
// completed first); with state "", every task by creation time. limit ≤ 0 means
// DefaultListLimit; it is capped at MaxListLimit.
func (s *Store) List(ctx context.Context, state outbox.State, limit int) ([]outbox.Task, error) {
	return s.Find(ctx, outbox.ListQuery{State: state, Limit: limit})
}

const qGet = `SELECT ` + taskColumns + ` FROM task WHERE message_id = ?`

// Get returns the task with messageID from whichever shard holds it, and its
// shard. It returns an error wrapping outbox.ErrNotFound and sqldb.ErrNotFound
// when no shard does.
func (s *Store) Get(ctx context.Context, messageID string) (outbox.Task, int, error) {
	for shard := range s.db.Shards() {
		tasks, err := scan(s.db.Shard(shard).Read().QueryContext(ctx, qGet, messageID))
		if err != nil {
			return outbox.Task{}, 0, fmt.Errorf("get outbox task: id[%s] shard[%d]: %w", messageID, shard, err)
		}
		if len(tasks) > 0 {
			return tasks[0], shard, nil
		}
	}
	return outbox.Task{}, 0, fmt.Errorf("get outbox task: id[%s]: %w: %w", messageID, outbox.ErrNotFound, sqldb.ErrNotFound)
}

const qReset = `UPDATE task SET state = ?, attempts = 0, update_time = ? WHERE message_id = ?`

// Reset makes the task with messageID retryable again, whatever its state (an
// operator's retry from the admin API): state fail, no attempts, update time
// now, so the retry job's next pass republishes it. It returns the task as
// reset, or an error wrapping outbox.ErrNotFound when no shard holds it.
// Republishing a completed task is harmless: consumers are idempotent.
func (s *Store) Reset(ctx context.Context, messageID string, now time.Time) (outbox.Task, error) {
	t, shard, err := s.Get(ctx, messageID)
	if err != nil {
		return outbox.Task{}, fmt.Errorf("reset outbox task: %w", err)
	}
	if _, err := s.db.Shard(shard).Exec(ctx, qReset, string(outbox.StateFail), now.UnixMilli(), messageID); err != nil {
		return outbox.Task{}, fmt.Errorf("reset outbox task: id[%s] shard[%d]: %w", messageID, shard, err)
	}
	t.State, t.Attempts, t.UpdateTime = outbox.StateFail, 0, time.UnixMilli(now.UnixMilli())
	return t, nil
}

// Purge statements: a bounded DELETE of completed tasks last updated before a
// time, served by the (state, update_time) index. MySQL bounds the DELETE
// itself; SQLite (built without DELETE … LIMIT) deletes the rowids a bounded
// subquery selects.
const (
	qPurgeMySQL  = `DELETE FROM task WHERE state = ? AND update_time < ? ORDER BY update_time LIMIT ?`
	qPurgeSQLite = `DELETE FROM task WHERE id IN (SELECT id FROM task WHERE state = ? AND update_time < ? ORDER BY update_time LIMIT ?)`
)

// PurgeCompleted implements outbox.Purger: it deletes up to limit tasks of
// shard that are completed and were last updated before before (the oldest
// first), in one statement, and returns how many it deleted. Tasks in create or
// fail are never deleted.
func (s *Store) PurgeCompleted(ctx context.Context, shard int, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	q := qPurgeSQLite
	if s.db.Driver() == sqldb.DriverMySQL {
		q = qPurgeMySQL
	}
	res, err := s.db.Shard(shard).Exec(ctx, q, string(outbox.StateCompleted), before.UnixMilli(), limit)
	if err != nil {
		return 0, fmt.Errorf("purge completed outbox tasks: shard[%d] before[%s]: %w", shard, before.UTC().Format(time.RFC3339), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("purge completed outbox tasks: shard[%d]: %w", shard, err)
	}
	return int(n), nil
}

const qCount = `SELECT state, COUNT(*) FROM task GROUP BY state`

// CountByState returns the number of tasks in each state over all shards (for
// the outbox backlog metric). States without tasks are absent.
func (s *Store) CountByState(ctx context.Context) (map[outbox.State]int64, error) {
	out := map[outbox.State]int64{}
	for shard := range s.db.Shards() {
		rows, err := s.db.Shard(shard).Read().QueryContext(ctx, qCount)
		if err != nil {
			return nil, fmt.Errorf("count outbox tasks: shard[%d]: %w", shard, err)
		}
		for rows.Next() {
			var state string
			var n int64
			if err := rows.Scan(&state, &n); err != nil {
				rows.Close()
				return nil, fmt.Errorf("count outbox tasks: shard[%d]: %w", shard, err)
			}
			out[outbox.State(state)] += n
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("count outbox tasks: shard[%d]: %w", shard, err)
		}
	}
	return out, nil
}

// scan reads task rows (taskColumns) and closes them.
func scan(rows *sql.Rows, err error) ([]outbox.Task, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []outbox.Task
	for rows.Next() {
		var r taskRow
		if err := rows.Scan(&r.userID, &r.topic, &r.messageID, &r.message, &r.state, &r.attempts, &r.lastError,
			&r.createTime, &r.updateTime); err != nil {
			return nil, err
		}
		out = append(out, r.task())
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// taskRow is a task row as scanned.
type taskRow struct {
	userID, topic, messageID, message, state, lastError string
	attempts                                            int
	createTime, updateTime                              int64
}

func (r taskRow) task() outbox.Task {
	return outbox.Task{
		UserID: r.userID, Topic: r.topic, MessageID: r.messageID, Body: []byte(r.message),
		State: outbox.State(r.state), Attempts: r.attempts, LastError: r.lastError,
		CreateTime: time.UnixMilli(r.createTime), UpdateTime: time.UnixMilli(r.updateTime),
	}
}
