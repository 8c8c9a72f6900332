package activity

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
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

// Validate reports a grant that cannot be applied: an empty ID or UserID, a
// non-positive ActivityID or a negative count return an error wrapping
// ErrInvalid.
func (g Grant) Validate() error {
	if g.ID == "" || g.UserID == "" || g.ActivityID <= 0 || g.Total < 0 || g.Day < 0 || g.Month < 0 {
		return fmt.Errorf("grant[%s] user[%s] activity[%d] counts %d/%d/%d: %w",
			g.ID, g.UserID, g.ActivityID, g.Total, g.Day, g.Month, ErrInvalid)
	}
	return nil
}

// QuotaOrder returns the completed, free quota order that applies g to act at
// now: SKU 0, out_business_no GrantOutBusinessNo(g.ID) and order id
// GrantOrderID(g.ID), both derived from the grant id so that applying a grant
// twice is a duplicate.
func (g Grant) QuotaOrder(act Activity, now time.Time) QuotaOrder {
	return QuotaOrder{
		UserID:        g.UserID,
		ActivityID:    g.ActivityID,
		ActivityName:  act.Name,
		StrategyID:    act.StrategyID,
		OrderID:       GrantOrderID(g.ID),
		OrderTime:     now,
		Total:         g.Total,
		Day:           g.Day,
		Month:         g.Month,
		State:         QuotaOrderCompleted,
		OutBusinessNo: GrantOutBusinessNo(g.ID),
	}
}

// GrantOutBusinessNo returns the out_business_no of grant id: "grant:"+id, or,
// when that exceeds the column's 64 characters, "grant:h:" and the first 56 hex
// digits of the id's SHA-256.
func GrantOutBusinessNo(id string) string {
	if s := "grant:" + id; len(s) <= 64 {
		return s
	}
	sum := sha256.Sum256([]byte(id))
	return "grant:h:" + hex.EncodeToString(sum[:])[:56]
}

// GrantOrderID returns the quota order id of grant id: "g" and the first 31 hex
// digits of the id's SHA-256 (32 characters, the column's width; generated ids
// are 24 characters, so the two never meet).
func GrantOrderID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return "g" + hex.EncodeToString(sum[:])[:31]
}
