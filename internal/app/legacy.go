package app

import (
	"context"
	"fmt"
	"time"

	"github.com/bigmarket/bigmarket/internal/campaign"
	"github.com/bigmarket/bigmarket/internal/config"
	"github.com/bigmarket/bigmarket/internal/store/campaigndb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
)

// OpenStorage opens the configured database for offline commands such as the
// legacy import, with the stored campaign: an embedded SQLite file is created
// and migrated; MySQL must have been migrated (`bigmarket migrate`). The caller
// closes the database.
func OpenStorage(ctx context.Context, cfg config.Config) (*sqldb.DB, *campaign.Campaign, error) {
	db, err := openDB(ctx, cfg, true)
	if err != nil {
		return nil, nil, err
	}
	c, err := campaigndb.New(db, time.Now).Load(ctx)
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("load stored campaign: %w", err)
	}
	return db, c, nil
}
