package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"
)

// maxGroup bounds how many callers' transactions share one SQLite commit.
const maxGroup = 256

// errGroupClosed is returned to callers after the DB was closed.
var errGroupClosed = errors.New("sqldb: database closed")

// groupCommit runs the write transactions of concurrent callers inside one
// SQLite transaction, each in its own SAVEPOINT (a caller alone in its group
// runs in the transaction itself), and commits them together
// ("group commit"). SQLite has a single writer anyway; sharing the commit (WAL
// append, checksums, system calls) among all waiting callers multiplies write
// throughput without adding latency: a group is whatever is queued when the
// writer becomes free, never a timed wait.
//
// Each caller sees the semantics of its own transaction: its fn's error rolls
// back its savepoint only, and it succeeds only if the shared commit does. If
// the shared transaction aborts (a failed savepoint operation or commit), every
// caller of the group gets the error and nothing of the group is kept.
//
// A caller's context costs only that caller. The shared transaction runs on no
// caller's context, and the writer's statements inside it ignore their
// context's cancellation (see shieldConn), so a cancelled caller cannot
// interrupt the transaction its neighbours share. A caller whose context ends
// before its savepoint is released (before its turn, or while fn runs) keeps
// nothing: its savepoint is rolled back and it gets an error wrapping the
// context's. Once its savepoint is released, its work is part of the shared
// commit: the caller waits for the commit's outcome whatever its context, and
// a nil error means its work is committed.
type groupCommit struct {
	db    *sql.DB
	name  string
	stmts *stmtCache // prepared statements, prepared between groups
	reqs  chan *groupReq
	quit  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
}

type groupReq struct {
	ctx   context.Context
	fn    func(*sql.Tx) error
	done  chan groupResult
	fnErr error // fn's own error, when it failed
	ok    bool  // fn succeeded and its savepoint was released
}

type groupResult struct {
	err      error
	panicked any
}

func newGroupCommit(db *sql.DB, name string, stmts *stmtCache) *groupCommit {
	g := &groupCommit{db: db, name: name, stmts: stmts, reqs: make(chan *groupReq), quit: make(chan struct{})}
	if stmts != nil {
		// Errors are not news: statements that fail to prepare run unprepared.
		_ = stmts.prepare(context.Background(), []string{qSavepoint, qRelease, qRollbackTo})
	}
	g.wg.Go(g.loop)
	return g
}

// run queues fn and waits for its group's outcome. A panic in fn is re-raised
// in the caller's goroutine.
func (g *groupCommit) run(ctx context.Context, fn func(*sql.Tx) error) error {
	req := &groupReq{ctx: ctx, fn: fn, done: make(chan groupResult, 1)}
	select {
	case g.reqs <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-g.quit:
		return errGroupClosed
	}
	res := <-req.done
	if res.panicked != nil {
		panic(res.panicked)
	}
	return res.err
}

func (g *groupCommit) close() {
	g.once.Do(func() { close(g.quit) })
	g.wg.Wait()
}

func (g *groupCommit) loop() {
	batch := make([]*groupReq, 0, maxGroup)
	for {
		select {
		case <-g.quit:
			return
		case req := <-g.reqs:
			batch = append(batch[:0], req)
		}
	drain:
		for len(batch) < maxGroup {
			select {
			case req := <-g.reqs:
				batch = append(batch, req)
			default:
				break drain
			}
		}
		g.commit(batch)
		if g.stmts != nil && g.stmts.pending() {
			// Between two groups the loop holds no transaction: the one writer
			// connection is free to prepare what the last groups ran unprepared.
			ctx, cancel := context.WithTimeout(context.Background(), prepareTimeout)
			g.stmts.prepareWanted(ctx)
			cancel()
		}
	}
}

// Statements of the group commit, and the bound of a preparation between groups.
const (
	qSavepoint     = "SAVEPOINT g"
	qRelease       = "RELEASE g"
	qRollbackTo    = "ROLLBACK TO g"
	prepareTimeout = 5 * time.Second
)

// exec runs one of the group's own statements, prepared when possible.
func (g *groupCommit) exec(tx *sql.Tx, q string) error {
	if g.stmts != nil {
		if st := g.stmts.get(q); st != nil {
			_, err := tx.StmtContext(context.Background(), st).Exec()
			return err
		}
	}
	_, err := tx.Exec(q)
	return err
}

// commit runs one group.
func (g *groupCommit) commit(batch []*groupReq) {
	panics := make(map[*groupReq]any)
	finish := func(err error) {
		for _, r := range batch {
			res := groupResult{err: err}
			switch {
			case panics[r] != nil:
				res = groupResult{panicked: panics[r]}
			case r.fnErr != nil:
				res.err = r.fnErr
			case r.ok && err == nil:
				res.err = nil
			case err == nil: // skipped: its context ended before its turn
				res.err = r.ctx.Err()
			}
			r.done <- res
		}
	}
	tx, err := g.db.BeginTx(context.Background(), nil)
	if err != nil {
		finish(fmt.Errorf("begin transaction on %s: %w", g.name, err))
		return
	}
	// A group of one runs without a savepoint: the transaction is its own,
	// and rolling it back undoes exactly its work. A savepoint would copy
	// every page the caller changes into the statement journal first.
	alone := len(batch) == 1
	for _, r := range batch {
		if r.ctx.Err() != nil {
			continue
		}
		if alone {
			if r.fnErr = g.call(tx, r, panics); r.fnErr != nil {
				tx.Rollback()
				finish(nil)
				return
			}
			r.ok = true
			break
		}
		if err := g.exec(tx, qSavepoint); err != nil {
			tx.Rollback()
			finish(fmt.Errorf("savepoint on %s: %w", g.name, err))
			return
		}
		if fnErr := g.call(tx, r, panics); fnErr != nil {
			r.fnErr = fnErr
			err1 := g.exec(tx, qRollbackTo)
			err2 := g.exec(tx, qRelease)
			if err := errors.Join(err1, err2); err != nil {
				// The transaction itself is gone (for instance interrupted by a
				// cancelled context): nothing of the group can be kept.
				tx.Rollback()
				finish(fmt.Errorf("transaction on %s aborted: %w", g.name, err))
				return
			}
			continue
		}
		if err := g.exec(tx, qRelease); err != nil {
			tx.Rollback()
			finish(fmt.Errorf("release savepoint on %s: %w", g.name, err))
			return
		}
		r.ok = true
	}
	if err := tx.Commit(); err != nil {
		tx.Rollback()
		finish(fmt.Errorf("commit on %s: %w", g.name, err))
		return
	}
	finish(nil)
}

// call runs r's fn in tx and returns its error: fn's own, a panic's (recorded in
// panics), or, as with a transaction of its own, the error of a context that
// ended before the commit, in which case the caller keeps nothing.
func (g *groupCommit) call(tx *sql.Tx, r *groupReq, panics map[*groupReq]any) error {
	fnErr, p := callFn(r.fn, tx)
	if p != nil {
		panics[r] = p
		fnErr = fmt.Errorf("panic: %v", p)
	}
	if fnErr == nil && r.ctx.Err() != nil {
		fnErr = fmt.Errorf("commit on %s: %w", g.name, r.ctx.Err())
	}
	return fnErr
}

func callFn(fn func(*sql.Tx) error, tx *sql.Tx) (err error, panicked any) {
	defer func() {
		if p := recover(); p != nil {
			panicked = p
		}
	}()
	return fn(tx), nil
}
