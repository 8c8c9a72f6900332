package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/outbox"
)

// fakePurger holds a number of purgeable tasks per shard and records calls.
type fakePurger struct {
	left  []int
	fail  map[int]error
	calls []string
}

func (p *fakePurger) Shards() int { return len(p.left) }

func (p *fakePurger) PurgeCompleted(_ context.Context, shard int, before time.Time, limit int) (int, error) {
	p.calls = append(p.calls, fmt.Sprintf("%d:%d", shard, limit))
	if err := p.fail[shard]; err != nil {
		return 0, err
	}
	n := min(p.left[shard], limit)
	p.left[shard] -= n
	return n, nil
}

// Purge empties every shard in bounded batches, and a shard that fails does not
// stop the others.
func TestPurgeEveryShardInBatches(t *testing.T) {
	boom := errors.New("shard down")
	p := &fakePurger{left: []int{5, 0, 4, 7}, fail: map[int]error{1: boom}}
	n, err := outbox.Purge(context.Background(), p, t0, 2)
	if n != 16 || !errors.Is(err, boom) {
		t.Fatalf("Purge = %d, %v; want 16 and shard 1's error", n, err)
	}
	want := []string{"0:2", "0:2", "0:2", "1:2", "2:2", "2:2", "2:2", "3:2", "3:2", "3:2", "3:2"}
	if !reflect.DeepEqual(p.calls, want) || !reflect.DeepEqual(p.left, []int{0, 0, 0, 0}) {
		t.Fatalf("calls %v, left %v; want %v and nothing left", p.calls, p.left, want)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := outbox.Purge(ctx, &fakePurger{left: []int{3}}, t0, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("Purge with a cancelled context = %v", err)
	}
	if got := outbox.PurgeEvery(7 * 24 * time.Hour); got != 10*time.Minute {
		t.Errorf("PurgeEvery(168h) = %v", got)
	}
	if got := outbox.PurgeEvery(time.Millisecond); got != time.Second {
		t.Errorf("PurgeEvery(1ms) = %v", got)
	}
}
