// Package campaign reads, validates, applies and exports campaign files: the whole
// configuration of awards, strategies, rule trees, activities, quota packages,
// SKUs, rebates, stages and quota grants, in YAML or JSON.
package campaign

import (
	"context"
	"time"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/rebate"
	"github.com/bigmarket/bigmarket/internal/strategy"
)

// Campaign is a validated configuration in domain types. It is what a campaign file
// describes, what Store.Apply writes and what Store.Load reads back.
type Campaign struct {
	Version    int
	Timezone   *time.Location // nil means the server's time zone
	Awards     []award.Award
	Trees      []strategy.Tree
	Strategies []strategy.Strategy
	Activities []activity.Activity
	Counts     []activity.Count
	SKUs       []activity.SKU
	Rebates    []rebate.Rule
	Stages     []activity.Stage
	Grants     []activity.Grant
}

// Summary counts the rows an apply upserted, by kind.
type Summary struct {
	Awards     int   `json:"awards"`
	Trees      int   `json:"ruleTrees"`
	Strategies int   `json:"strategies"`
	Activities int   `json:"activities"`
	Counts     int   `json:"counts"`
	SKUs       int   `json:"skus"`
	Rebates    int   `json:"rebates"`
	Stages     int   `json:"stages"`
	Grants     int   `json:"grants"`
	Revision   int64 `json:"revision"`
}

// Store persists campaigns. Implementations live in the storage packages.
type Store interface {
	// Apply upserts every row of c by id in one transaction: all or nothing.
	// Changing an award's count adjusts its surplus by the difference; rows absent
	// from c are left as they are. Apply bumps the configuration revision.
	Apply(ctx context.Context, c *Campaign) (Summary, error)
	// Load reads the whole stored configuration.
	Load(ctx context.Context) (*Campaign, error)
	// Revision returns the configuration revision, bumped by every Apply; running
	// instances poll it to pick up changes. A database never applied returns 0.
	Revision(ctx context.Context) (int64, error)
}
