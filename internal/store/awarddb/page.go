package awarddb

import (
	"context"
	"fmt"

	"github.com/bigmarket/bigmarket/internal/award"
)

const qPageByUser = `SELECT ` + recordColumns + `
	FROM user_award_record{{suffix}} WHERE user_id = ? AND activity_id = ?
	ORDER BY award_time DESC, id DESC LIMIT ? OFFSET ?`

// PageByUser returns up to limit of userID's award records on activityID,
// newest first (by award time, then insertion), skipping the first offset.
// limit ≤ 0 means DefaultListLimit; it is capped at MaxListLimit; a negative
// offset counts as 0. A user without records gets an empty slice and no error.
func (s *Store) PageByUser(ctx context.Context, userID string, activityID int64, offset, limit int) ([]award.Record, error) {
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	offset = max(offset, 0)
	r := s.db.Route(userID)
	rows, err := s.db.Shard(r.Shard).Read().QueryContext(ctx, r.SQL(qPageByUser), userID, activityID, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("page award records: user[%s] activity[%d]: %w", userID, activityID, err)
	}
	defer rows.Close()
	out := []award.Record{}
	for rows.Next() {
		rec, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("page award records: user[%s] activity[%d]: %w", userID, activityID, err)
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("page award records: user[%s] activity[%d]: %w", userID, activityID, err)
	}
	return out, nil
}
