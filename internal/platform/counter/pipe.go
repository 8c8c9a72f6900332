package counter

import (
	"context"

	"github.com/redis/go-redis/v9"

	"github.com/bigmarket/bigmarket/internal/platform/gather"
)

// maxPipe bounds how many takes share one pipeline.
const maxPipe = 256

// takePipe sends concurrent takes to Redis in pipelines: a pipeline is
// whatever takes are queued when its one runner is free (gather.Gather: no
// timed wait, a take alone goes at once, in a pipeline of one). The raffles of
// a draw batch run at once, each taking its award's stock; one round trip for
// all of them costs the server and Redis a write and a read instead of one of
// each per take.
type takePipe struct {
	r     *Redis
	queue *gather.Gather[*pipedTake]
}

func newTakePipe(r *Redis) *takePipe {
	p := &takePipe{r: r}
	p.queue = gather.New(1, maxPipe, nil, p.send)
	return p
}

// pipedTake is one queued take and where its answer goes.
type pipedTake struct {
	ctx   context.Context
	key   string // the counter key (not the Redis key)
	limit int64
	done  chan pipedAnswer // buffered: the runner never waits for its caller
}

type pipedAnswer struct {
	res []int64
	err error
}

// acquire queues a take and waits for its answer or the end of ctx. A caller
// whose context ends first gets the context's error: its take may have been
// made or not, as with any Redis command cancelled in flight.
func (p *takePipe) acquire(ctx context.Context, key string, limit int64) ([]int64, error) {
	t := &pipedTake{ctx: ctx, key: key, limit: limit, done: make(chan pipedAnswer, 1)}
	p.queue.Add(t)
	select {
	case a := <-t.done:
		return a.res, a.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// send runs batch's takes in one pipeline and answers each. A take whose
// caller is already gone is not sent. A take the pipeline's EVALSHA could not
// run because Redis lost its script cache runs again alone with the script's
// fallback to EVAL.
func (p *takePipe) send(batch []*pipedTake) {
	live := batch[:0:0]
	for _, t := range batch {
		if err := t.ctx.Err(); err != nil {
			t.done <- pipedAnswer{err: err}
			continue
		}
		live = append(live, t)
	}
	if len(live) == 0 {
		return
	}
	// The pipeline runs on no caller's context: one caller going away must not
	// cancel its neighbours' takes. The client's own timeouts bound it.
	ctx := context.Background()
	cmds := make([]*redis.Cmd, len(live))
	// Each command's own error is read below; Pipelined's is the first of them.
	_, _ = p.r.c.Pipelined(ctx, func(pl redis.Pipeliner) error {
		for i, t := range live {
			cmds[i] = p.r.acquire.EvalSha(ctx, pl, []string{p.r.Key(t.key)}, t.limit)
		}
		return nil
	})
	for i, t := range live {
		res, err := cmds[i].Int64Slice()
		if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
			res, err = p.r.acquire.Run(t.ctx, p.r.c, []string{p.r.Key(t.key)}, t.limit).Int64Slice()
		}
		t.done <- pipedAnswer{res: res, err: err}
	}
}
