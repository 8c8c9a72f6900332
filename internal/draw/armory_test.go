package draw_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/campaign"
	"github.com/bigmarket/bigmarket/internal/catalog"
	"github.com/bigmarket/bigmarket/internal/draw"
	"github.com/bigmarket/bigmarket/internal/strategy"
)

// countingStore is a campaign store that counts its round trips.
type countingStore struct {
	calls atomic.Int64
	camp  *campaign.Campaign
}

func (s *countingStore) Apply(context.Context, *campaign.Campaign) (campaign.Summary, error) {
	return campaign.Summary{}, errors.New("not used")
}

func (s *countingStore) Load(context.Context) (*campaign.Campaign, error) {
	s.calls.Add(1)
	time.Sleep(time.Millisecond)
	return s.camp, nil
}

func (s *countingStore) Revision(context.Context) (int64, error) {
	s.calls.Add(1)
	time.Sleep(time.Millisecond) // a database round trip
	return 1, nil
}

// armedEngine knows strategy 10 only.
type armedEngine struct{ draw.Engine }

func (armedEngine) Armed(id int64) bool { return id == 10 }

// noSKUs answers SKU stock without storage.
type noSKUs struct{ draw.Quotas }

func (noSKUs) SKUStockLeft(context.Context, activity.SKU) (int64, error) { return 0, nil }

// TestArmoryIsCheap: the public armory endpoints answer a known id from the
// configuration in memory, and concurrent calls for an unknown id share one
// reload instead of one store round trip each.
func TestArmoryIsCheap(t *testing.T) {
	store := &countingStore{camp: &campaign.Campaign{
		Activities: []activity.Activity{{ID: 100, StrategyID: 10}},
	}}
	cat := catalog.New(store, time.UTC, nil)
	if _, err := cat.Reload(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	strategies := draw.NewStrategyService(armedEngine{}, nil, cat, nil, time.Now)
	activities := draw.NewActivityService(draw.ActivityConfig{Engine: armedEngine{}, Catalog: cat, Quotas: noSKUs{}, Reloader: cat})
	const n = 64
	calls := func(f func() error, want error) int64 {
		t.Helper()
		before := store.calls.Load()
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				if err := f(); !errors.Is(err, want) {
					t.Errorf("armory: %v, want %v", err, want)
				}
			})
		}
		wg.Wait()
		return store.calls.Load() - before
	}
	ctx := context.Background()
	if got := calls(func() error { return strategies.Armory(ctx, 10) }, nil); got != 0 {
		t.Errorf("%d armory calls for a known strategy made %d store round trips, want 0", n, got)
	}
	if got := calls(func() error { return activities.Armory(ctx, 100) }, nil); got != 0 {
		t.Errorf("%d armory calls for a known activity made %d store round trips, want 0", n, got)
	}
	if got := calls(func() error { return strategies.Armory(ctx, 42) }, strategy.ErrNotArmed); got > 1 {
		t.Errorf("%d armory calls for an unknown strategy made %d store round trips, want at most 1", n, got)
	}
	if got := calls(func() error { return activities.Armory(ctx, 4242) }, activity.ErrUnknownActivity); got > 1 {
		t.Errorf("%d armory calls for an unknown activity made %d store round trips, want at most 1", n, got)
	}
}
