package sqldb

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// How often the background checkpointer copies SQLite's WAL into the database
// file: every checkpointBusy while writes keep coming, every checkpointIdle
// when the WAL did not change since the last checkpoint.
const (
	checkpointBusy = 15 * time.Millisecond
	checkpointIdle = 250 * time.Millisecond
)

// checkpointer copies SQLite's WAL into the database file on a connection of its
// own, so that the single writer seldom pauses for it. The writer's automatic
// checkpoint runs inside the commit that crosses its threshold; copying thousands
// of pages there was the whole p99 tail of the draw. A PASSIVE checkpoint here
// neither waits for nor blocks readers and writers, so when the writer's turn
// comes only the last frames are left, and once every frame is copied its next
// commit starts the WAL over (under constant writes a background checkpoint alone
// never catches up, and the WAL would grow without bound).
//
// Under load it runs every checkpointBusy: the writer appends thousands of
// frames a second (each draw dirties about ten pages), and at a slower pace the
// writer's own checkpoint found most of the threshold's frames (8 192 then)
// still to copy — a commit of 30 to 60 ms a few times a second, measured as the
// p99 of the draw (docs/PERFORMANCE.md). Idle, it runs every checkpointIdle.
// The writer's own checkpoint still syncs the WAL and the database file, so
// its threshold is high (walAutocheckpoint): it runs once every few seconds.
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
	t := time.NewTimer(checkpointIdle)
	defer t.Stop()
	var last [2]int64 // the WAL's frames and those copied, after the last checkpoint
	for {
		select {
		case <-c.quit:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		// An error (the database closing, a busy lock) is retried at the
		// next tick: a late checkpoint only lets the WAL grow a little.
		var busy int
		var now [2]int64
		err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &now[0], &now[1])
		cancel()
		wait := checkpointIdle
		if err == nil && now != last {
			wait = checkpointBusy
		}
		last = now
		t.Reset(wait)
	}
}

func (c *checkpointer) close() {
	c.once.Do(func() { close(c.quit) })
	c.wg.Wait()
}
