package activity

import (
	"fmt"
	"strconv"
	"time"

	"github.com/bigmarket/bigmarket/internal/money"
)

// Check reports whether a draw or a quota order may happen at now: it returns
// ErrNotOpen unless the state is StateOpen, and ErrNotInDate unless
// Begin ≤ now ≤ End. A zero Begin or End is no bound on that side. Errors are
// wrapped with the activity id.
func (a Activity) Check(now time.Time) error {
	if a.State != StateOpen {
		return fmt.Errorf("activity[%d] state %q: %w", a.ID, a.State, ErrNotOpen)
	}
	if (!a.Begin.IsZero() && now.Before(a.Begin)) || (!a.End.IsZero() && now.After(a.End)) {
		return fmt.Errorf("activity[%d] at %s (begin %s, end %s): %w", a.ID,
			now.Format(time.RFC3339), a.Begin.Format(time.RFC3339), a.End.Format(time.RFC3339), ErrNotInDate)
	}
	return nil
}

// DayKey returns the day row key of t in loc, "2006-01-02". A nil loc means
// time.Local.
func DayKey(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.Local
	}
	return t.In(loc).Format("2006-01-02")
}

// MonthKey returns the month row key of t in loc, "2006-01". A nil loc means
// time.Local.
func MonthKey(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.Local
	}
	return t.In(loc).Format("2006-01")
}

// Account is a user's quota on an activity as the query endpoint shows it: the
// total quota and what is left, and today's and this month's quota and what is
// left (the account's per-day and per-month quota when no draw happened yet in
// that period). The zero value is the account of a user who has none.
type Account struct {
	TotalCount   int64
	TotalSurplus int64
	DayCount     int64
	DaySurplus   int64
	MonthCount   int64
	MonthSurplus int64
}

// RaffleOrderState is the state of a raffle order.
type RaffleOrderState string

// Raffle order states: created by a partake, used when its award is recorded.
// Cancel is kept from the original schema; nothing sets it yet.
const (
	RaffleOrderCreate RaffleOrderState = "create"
	RaffleOrderUsed   RaffleOrderState = "used"
	RaffleOrderCancel RaffleOrderState = "cancel"
)

// RaffleOrder is one participation of a user in an activity's draw.
type RaffleOrder struct {
	UserID       string
	ActivityID   int64
	ActivityName string
	StrategyID   int64
	OrderID      string
	OrderTime    time.Time
	State        RaffleOrderState
}

// QuotaOrderState is the state of a quota order.
type QuotaOrderState string

// Quota order states: a credit-paid order waits for its payment; a completed
// order has added its counts to the account.
const (
	QuotaOrderWaitPay   QuotaOrderState = "wait_pay"
	QuotaOrderCompleted QuotaOrderState = "completed"
)

// QuotaOrder adds a count of draws to a user's account on an activity. It is
// unique by OutBusinessNo (and by OrderID). SKU is 0 for a grant.
type QuotaOrder struct {
	UserID        string
	SKU           int64
	ActivityID    int64
	ActivityName  string
	StrategyID    int64
	OrderID       string
	OrderTime     time.Time
	Total         int64
	Day           int64
	Month         int64
	PayAmount     money.Amount
	State         QuotaOrderState
	OutBusinessNo string
}

// Partake is the result of the quota step of a draw: the raffle order the draw
// uses and the user's progress counting this draw.
type Partake struct {
	// Order is the raffle order of the draw, state create until the draw ends.
	Order RaffleOrder
	// Reused reports that Order is an unused order of an earlier, unfinished
	// draw: no quota was consumed this time.
	Reused bool
	// TotalUsed is total_count − total_count_surplus after this partake: the
	// draws made in the activity counting this one (rule_weight).
	TotalUsed int64
	// TodayUsed is day_count − day_count_surplus of today's row after this
	// partake: today's draws counting this one (rule_lock).
	TodayUsed int64
}

// TradeType says how a SKU quota order is paid.
type TradeType string

// Trade types of a SKU order, named as in the original API.
const (
	// TradeRebate is a free order earned by a rebate: completed at once.
	TradeRebate TradeType = "rebate_no_pay_trade"
	// TradeCredit is an order paid with credits: wait_pay until paid.
	TradeCredit TradeType = "credit_pay_trade"
)

// SKUStockKey returns the counter key of a SKU's stock, "sku_stock:<sku>".
// Counter implementations add their own prefix.
func SKUStockKey(sku int64) string {
	return "sku_stock:" + strconv.FormatInt(sku, 10)
}
