package activity

import (
	"context"
	"sync"
	"time"
)

// flightTimeout bounds a shared rebuild, which runs apart from the context of
// the caller that started it: the callers waiting on it must not fail because
// that one went away.
const flightTimeout = 10 * time.Second

// flights runs one call per key at a time; callers of a key in flight wait for
// it and share its error. The zero value is ready to use.
type flights struct {
	mu sync.Mutex
	m  map[int64]*flight
}

type flight struct {
	done chan struct{}
	err  error
}

// do runs fn for key unless a call for key is in flight, and returns its error.
// A caller whose ctx ends stops waiting; the call goes on for the others.
func (f *flights) do(ctx context.Context, key int64, fn func(ctx context.Context) error) error {
	f.mu.Lock()
	fl, ok := f.m[key]
	if !ok {
		if f.m == nil {
			f.m = map[int64]*flight{}
		}
		fl = &flight{done: make(chan struct{})}
		f.m[key] = fl
		go func() {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flightTimeout)
			defer cancel()
			fl.err = fn(cctx)
			f.mu.Lock()
			delete(f.m, key)
			f.mu.Unlock()
			close(fl.done)
		}()
	}
	f.mu.Unlock()
	select {
	case <-fl.done:
		return fl.err
	case <-ctx.Done():
		return ctx.Err()
	}
}
