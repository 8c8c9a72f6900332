package outbox

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Defaults of purging.
const (
	// DefaultRetention is how long completed tasks are kept when the
	// configuration says nothing.
	DefaultRetention = 7 * 24 * time.Hour
	// DefaultPurgeBatch bounds the tasks one DELETE removes, so that each
	// statement holds its locks (SQLite: the single writer) only briefly.
	DefaultPurgeBatch = 1000
)

// Purger is the storage Purge needs (outboxdb.Store implements it).
type Purger interface {
	// Shards returns the number of shard databases.
	Shards() int
	// PurgeCompleted deletes up to limit tasks of shard in StateCompleted last
	// updated before before, and returns how many it deleted.
	PurgeCompleted(ctx context.Context, shard int, before time.Time, limit int) (int, error)
}

// Purge deletes, on every shard, the completed tasks last updated before
// before, batch at a time (batch ≤ 0 means DefaultPurgeBatch), until a batch
// comes back short or ctx ends. Tasks in create or fail are never deleted. It
// returns how many tasks it deleted and the errors of the shards that failed,
// joined; the other shards are done. Run it from one instance of the fleet at a
// time (lease.RunExclusive); running it twice at once is harmless, only wasted.
func Purge(ctx context.Context, p Purger, before time.Time, batch int) (int, error) {
	if batch <= 0 {
		batch = DefaultPurgeBatch
	}
	total := 0
	var errs []error
	for shard := range p.Shards() {
		for ctx.Err() == nil {
			n, err := p.PurgeCompleted(ctx, shard, before, batch)
			total += n
			if err != nil {
				errs = append(errs, fmt.Errorf("outbox purge: %w", err))
				break
			}
			if n < batch {
				break
			}
		}
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("outbox purge: stopped at shard[%d]: %w", shard, err))
			break
		}
	}
	return total, errors.Join(errs...)
}

// PurgeEvery returns how often to purge with retention: half the retention,
// between a second and ten minutes, so that a finished task outlives its
// retention by at most that much.
func PurgeEvery(retention time.Duration) time.Duration {
	return min(max(retention/2, time.Second), 10*time.Minute)
}
