package campaigndb_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/bigmarket/bigmarket/internal/campaign"
	"github.com/bigmarket/bigmarket/internal/store/campaigndb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

// TestDemoCampaignExportReapply applies the demo campaign file, exports what was
// stored, applies the export and checks that nothing changed: the stored rows
// survive a trip through the file format.
func TestDemoCampaignExportReapply(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s, ctx := campaigndb.New(db, clock), context.Background()
		sum, problems, err := campaign.Apply(ctx, s, campaign.Demo())
		if err != nil || len(problems) > 0 {
			t.Fatalf("apply demo: %v %v", err, problems)
		}
		if sum.Awards == 0 || sum.Strategies == 0 || sum.Revision != 1 {
			t.Fatalf("summary %+v", sum)
		}
		first, counts := mustLoad(t, s), rowCounts(t, db)
		file, err := campaign.Export(first)
		if err != nil {
			t.Fatal(err)
		}
		if _, problems, err := campaign.Apply(ctx, s, file); err != nil || len(problems) > 0 {
			t.Fatalf("apply export: %v %v", err, problems)
		}
		sameCampaign(t, mustLoad(t, s), first)
		if again := rowCounts(t, db); !reflect.DeepEqual(again, counts) {
			t.Fatalf("row counts changed: %v → %v", counts, again)
		}
	})
}
