// Package strategydb is the durable side of award stock (strategy.StockStore):
// it counts the award records that took stock, across every shard and table, and
// applies batches of takes to strategy_award.award_count_surplus.
package strategydb

import (
	"context"
	"database/sql"
	"fmt"
	"sort"

	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/strategy"
)

var _ strategy.StockStore = (*Store)(nil)

// Store implements strategy.StockStore on a sqldb.DB. It is safe for concurrent
// use.
type Store struct {
	db *sqldb.DB
}

// New returns a Store on db.
func New(db *sqldb.DB) *Store { return &Store{db: db} }

const qCountTakes = `SELECT COUNT(*) FROM user_award_record{{suffix}}
	WHERE strategy_id = ? AND award_id = ? AND stock_taken = 1`

// CountTakes returns the number of award records of the strategy and award that
// took a unit of stock (stock_taken = 1), summed over every shard database and
// every table suffix: the durable count of units taken.
func (s *Store) CountTakes(ctx context.Context, strategyID, awardID int64) (int64, error) {
	var total int64
	for _, r := range s.db.Routes() {
		var n int64
		err := s.db.Shard(r.Shard).Read().QueryRowContext(ctx, r.SQL(qCountTakes), strategyID, awardID).Scan(&n)
		if err != nil {
			return 0, fmt.Errorf("count takes: strategy[%d] award[%d] shard[%d] table%q: %w", strategyID, awardID, r.Shard, r.Suffix, err)
		}
		total += n
	}
	return total, nil
}

// qApplyTake lowers a surplus by N, never below 0. update_time is left alone:
// it tracks configuration changes, not stock syncs.
const qApplyTake = `UPDATE strategy_award
	SET award_count_surplus = CASE WHEN award_count_surplus > ? THEN award_count_surplus - ? ELSE 0 END
	WHERE strategy_id = ? AND award_id = ?`

// ApplyTakes lowers strategy_award.award_count_surplus by each take's N (never
// below 0) in one transaction on the config database: all takes or none. Takes
// of the same strategy and award are summed; they are applied in (strategy,
// award) order so that concurrent batches lock rows in one order. A take with
// N = 0 or of an award the database does not hold changes nothing; a negative N
// is an error.
func (s *Store) ApplyTakes(ctx context.Context, takes []strategy.Take) error {
	type key struct{ strategyID, awardID int64 }
	sum := map[key]int64{}
	for _, t := range takes {
		if t.N < 0 {
			return fmt.Errorf("apply takes: strategy[%d] award[%d]: negative take %d", t.StrategyID, t.AwardID, t.N)
		}
		if t.N > 0 {
			sum[key{t.StrategyID, t.AwardID}] += t.N
		}
	}
	if len(sum) == 0 {
		return nil
	}
	keys := make([]key, 0, len(sum))
	for k := range sum {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].strategyID != keys[j].strategyID {
			return keys[i].strategyID < keys[j].strategyID
		}
		return keys[i].awardID < keys[j].awardID
	})
	err := sqldb.InTx(ctx, s.db.Config(), func(tx *sql.Tx) error {
		for _, k := range keys {
			n := sum[k]
			if _, err := tx.ExecContext(ctx, qApplyTake, n, n, k.strategyID, k.awardID); err != nil {
				return fmt.Errorf("strategy[%d] award[%d]: %w", k.strategyID, k.awardID, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("apply takes: %d awards: %w", len(keys), err)
	}
	return nil
}
