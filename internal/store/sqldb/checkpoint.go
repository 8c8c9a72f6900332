package sqldb

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// checkpointEvery is how often the background checkpointer copies the WAL into
// the database file.
const checkpointEvery = 250 * time.Millisecond

// checkpointer copies SQLite's WAL into the database file on a connection of its
// own, so that the single writer seldom pauses for it. The writer's automatic
// checkpoint runs inside the commit that crosses its threshold; copying thousands
// of pages there was the whole p99 tail of the draw. A PASSIVE checkpoint here
// neither waits for nor blocks readers and writers, so when the writer's turn
// comes only the last frames are left, and once every frame is copied its next
// commit starts the WAL over (under constant writes a background checkpoint alone
// never catches up, and the WAL would grow without bound).
type checkpointer struct {
	db   *sql.DB
	quit chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

func newCheckpointer(db *sql.DB) *checkpointer {
	c := &checkpointer{db: db, quit: make(chan struct{})}
	c.wg.Go(c.loop)
	return c
}

func (c *checkpointer) loop() {
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-c.quit:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			// An error (the database closing, a busy lock) is retried at the
			// next tick: a late checkpoint only lets the WAL grow a little.
			_, _ = c.db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
			cancel()
		}
	}
}

func (c *checkpointer) close() {
	c.once.Do(func() { close(c.quit) })
	c.wg.Wait()
}
