package app

import (
	"cmp"
	"context"
	"slices"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/catalog"

	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/httpapi"
	"github.com/bigmarket/bigmarket/internal/store/awarddb"
	"github.com/bigmarket/bigmarket/internal/store/creditdb"
)

// historyService serves a user's award records and credit ledger from the
// stores of the user's shard.
type historyService struct {
	records *awarddb.Store
	credits *creditdb.Store
}

var _ httpapi.HistoryService = historyService{}

// AwardRecords implements httpapi.HistoryService.
func (h historyService) AwardRecords(ctx context.Context, userID string, activityID int64, offset, limit int) ([]award.Record, error) {
	return h.records.PageByUser(ctx, userID, activityID, offset, limit)
}

// CreditLedger implements httpapi.HistoryService.
func (h historyService) CreditLedger(ctx context.Context, userID string, offset, limit int) ([]httpapi.LedgerEntry, error) {
	entries, err := h.credits.LedgerPage(ctx, userID, offset, limit)
	if err != nil {
		return nil, err
	}
	out := make([]httpapi.LedgerEntry, len(entries))
	for i, e := range entries {
		out[i] = httpapi.LedgerEntry{Order: e.Order, BalanceAfter: e.BalanceAfter}
	}
	return out, nil
}

// activityCatalog lists the activities of the current configuration snapshot.
type activityCatalog struct {
	catalog *catalog.Catalog
}

var _ httpapi.ActivityCatalog = activityCatalog{}

// Activities implements httpapi.ActivityCatalog.
func (c activityCatalog) Activities(context.Context) []activity.Activity {
	acts := c.catalog.Current().Activities
	out := make([]activity.Activity, 0, len(acts))
	for _, a := range acts {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b activity.Activity) int { return cmp.Compare(a.ID, b.ID) })
	return out
}
