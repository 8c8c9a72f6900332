package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/campaign"
	"github.com/bigmarket/bigmarket/internal/catalog"
	"github.com/bigmarket/bigmarket/internal/strategy"
)

// slowStore is a campaign store whose revision read takes a while and is
// counted; rev is the revision it reports.
type slowStore struct {
	revisions, loads atomic.Int64
	rev              atomic.Int64
	delay            time.Duration
}

func (s *slowStore) Apply(context.Context, *campaign.Campaign) (campaign.Summary, error) {
	return campaign.Summary{}, errors.New("not used")
}

func (s *slowStore) Load(context.Context) (*campaign.Campaign, error) {
	s.loads.Add(1)
	return &campaign.Campaign{}, nil
}

func (s *slowStore) Revision(ctx context.Context) (int64, error) {
	s.revisions.Add(1)
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return s.rev.Load(), nil
}

// TestRefreshSharedAndRateLimited: concurrent refreshes share one store round
// trip, a refresh right after another touches nothing, and a caller that goes
// away does not fail the callers waiting on the same refresh.
func TestRefreshSharedAndRateLimited(t *testing.T) {
	store := &slowStore{delay: 50 * time.Millisecond}
	store.rev.Store(1)
	c := catalog.New(store, time.UTC, nil)

	// The first caller gives up at once; the refresh goes on for the others.
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Refresh(gone); !errors.Is(err, context.Canceled) {
		t.Fatalf("refresh with an ended context: %v, want context.Canceled", err)
	}
	var wg sync.WaitGroup
	var swapped atomic.Int64
	for range 100 {
		wg.Go(func() {
			ok, err := c.Refresh(context.Background())
			if err != nil {
				t.Errorf("refresh: %v", err)
			}
			if ok {
				swapped.Add(1)
			}
		})
	}
	wg.Wait()
	if n := store.revisions.Load(); n != 1 {
		t.Fatalf("101 concurrent refreshes read the revision %d times, want 1", n)
	}
	if store.loads.Load() != 1 || c.Current().Revision != 1 || swapped.Load() == 0 {
		t.Fatalf("loads %d, revision %d, %d callers saw the swap: want the new revision loaded once",
			store.loads.Load(), c.Current().Revision, swapped.Load())
	}
	// Within the interval nothing touches the store.
	store.rev.Store(2)
	if ok, err := c.Refresh(context.Background()); ok || err != nil || store.revisions.Load() != 1 {
		t.Fatalf("refresh within the interval: %v %v, %d revision reads, want none", ok, err, store.revisions.Load())
	}
	time.Sleep(catalog.RefreshInterval + 10*time.Millisecond)
	if ok, err := c.Refresh(context.Background()); !ok || err != nil || c.Current().Revision != 2 {
		t.Fatalf("refresh after the interval: %v %v, revision %d, want revision 2", ok, err, c.Current().Revision)
	}
}

// campaignStore serves one campaign at revision 1.
type campaignStore struct{ c *campaign.Campaign }

func (s campaignStore) Apply(context.Context, *campaign.Campaign) (campaign.Summary, error) {
	return campaign.Summary{}, errors.New("not used")
}
func (s campaignStore) Load(context.Context) (*campaign.Campaign, error) { return s.c, nil }
func (s campaignStore) Revision(context.Context) (int64, error)          { return 1, nil }

// TestSnapshotStockKeys: a snapshot lists each strategy's award stock keys,
// the fences a draw on it may hold.
func TestSnapshotStockKeys(t *testing.T) {
	camp := &campaign.Campaign{Strategies: []strategy.Strategy{
		{ID: 7, Awards: []strategy.Award{{AwardID: 101}, {AwardID: 102}}},
		{ID: 8, Awards: []strategy.Award{{AwardID: 201}}},
	}}
	c := catalog.New(campaignStore{camp}, time.UTC, nil)
	if _, err := c.Reload(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(c.Current().StockKeys)
	want := fmt.Sprint(map[int64][]string{
		7: {strategy.StockKey(7, 101), strategy.StockKey(7, 102)},
		8: {strategy.StockKey(8, 201)},
	})
	if got != want {
		t.Fatalf("stock keys %s, want %s", got, want)
	}
}
