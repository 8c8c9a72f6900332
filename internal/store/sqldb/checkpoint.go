package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"os"
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

// walShrinkAbove is the WAL file size above which the checkpointer, once the
// writes have paused, truncates the file to nothing. Under load the WAL grows
// to walAutocheckpoint pages (256 MiB) and SQLite reuses it at that size; a
// quiet database gives the space back, and a busy one keeps its file (the
// truncation waits for a pause, and regrowing the file costs the next burst
// its block allocations).
const walShrinkAbove = 16 << 20

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
//
// When the WAL has not changed for two checkpoints in a row, every frame is
// copied and the file is larger than walShrinkAbove, it truncates the file
// (shrink).
type checkpointer struct {
	db   *sql.DB
	wal  string // the WAL file's path
	quit chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

func newCheckpointer(db *sql.DB, wal string) *checkpointer {
	c := &checkpointer{db: db, wal: wal, quit: make(chan struct{})}
	c.wg.Go(c.loop)
	return c
}

func (c *checkpointer) loop() {
	t := time.NewTimer(checkpointIdle)
	defer t.Stop()
	var last [2]int64 // the WAL's frames and those copied, after the last checkpoint
	quiet := 0        // checkpoints in a row that found the WAL unchanged
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
		switch {
		case err != nil:
			quiet = 0
		case now != last:
			quiet = 0
			wait = checkpointBusy
		default:
			quiet++
			if quiet >= 2 && now[0] == now[1] {
				c.shrink()
			}
		}
		last = now
		t.Reset(wait)
	}
}

// shrink truncates the WAL file to nothing if it is larger than
// walShrinkAbove. A TRUNCATE checkpoint keeps new writers out while it runs, so
// it runs without waiting (busy timeout 0): if a reader or a writer is active
// it gives up, and the next quiet checkpoint tries again. The frames having
// been copied already (but those of a commit that slipped in since), it
// mostly syncs the database file and truncates.
func (c *checkpointer) shrink() {
	fi, err := os.Stat(c.wal)
	if err != nil || fi.Size() <= walShrinkAbove {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := c.db.Conn(ctx)
	if err != nil {
		return
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA busy_timeout = 0"); err != nil {
		return
	}
	// Busy or not, the answer changes nothing here: a checkpoint that could
	// not truncate is tried again at the next quiet tick.
	var busy, frames, copied int64
	_ = conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &frames, &copied)
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", checkpointerBusyTimeout.Milliseconds())); err != nil {
		// The connection keeps a busy timeout of 0: drop it, the pool
		// opens a new one with the DSN's.
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}

func (c *checkpointer) close() {
	c.once.Do(func() { close(c.quit) })
	c.wg.Wait()
}
