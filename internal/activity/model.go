// Package activity holds raffle activities, quota packages (counts), SKUs, stages,
// per-user quota accounts and quota orders.
package activity

import (
	"time"

	"github.com/bigmarket/bigmarket/internal/money"
)

// State is an activity's lifecycle state.
type State string

// Activity states.
const (
	StateCreate State = "create"
	StateOpen   State = "open"
	StateClose  State = "close"
)

// Activity is a campaign bound 1:1 to a strategy.
type Activity struct {
	ID         int64
	Name       string
	Desc       string
	StrategyID int64
	State      State
	Begin      time.Time
	End        time.Time
}

// Count is a quota package: how many draws it adds in total, per day and per month.
type Count struct {
	ID    int64
	Total int64
	Day   int64
	Month int64
}

// SKU is a purchasable quota package of an activity.
type SKU struct {
	SKU        int64
	ActivityID int64
	CountID    int64
	Stock      int64 // units the SKU may sell
	Surplus    int64 // units left as last synced to the database (informational)
	Price      money.Amount
}

// StageState says whether a stage is shown.
type StageState string

// Stage states.
const (
	StageActive   StageState = "active"
	StageInactive StageState = "inactive"
)

// Stage says which activity a channel/source pair shows.
type Stage struct {
	ID         int64
	Channel    string
	Source     string
	ActivityID int64
	State      StageState
}

// Grant gives a user draws on an activity directly, idempotent by ID.
type Grant struct {
	ID         string
	UserID     string
	ActivityID int64
	Total      int64
	Day        int64
	Month      int64
}
