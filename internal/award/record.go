package award

import (
	"time"

	"github.com/bigmarket/bigmarket/internal/money"
)

// RecordState is the delivery state of an award record.
type RecordState string

// Award record states.
const (
	// RecordCreate: recorded, delivery not yet done.
	RecordCreate RecordState = "create"
	// RecordCompleted: delivered (or nothing to deliver, as for user "system").
	RecordCompleted RecordState = "completed"
	// RecordPendingManual: no deliverer for the award key; an operator delivers it.
	RecordPendingManual RecordState = "pending_manual"
)

// SystemUser is the user of strategy-only raffles (random_raffle): its records
// keep durable stock exact and are never delivered.
const SystemUser = "system"

// Record is what a user won in one draw.
type Record struct {
	UserID     string
	ActivityID int64 // 0 for a strategy-only raffle
	StrategyID int64
	OrderID    string // the raffle order; unique per record
	AwardID    int64
	AwardTitle string
	// AwardConfig is the delivery parameter in force for this record: the luck
	// amount for a fallback award, else the award's config.
	AwardConfig string
	// Amount is the credit amount decided at draw time (luck award), zero if none.
	Amount money.Amount
	// StockTaken reports whether this draw took a unit of the award's stock; the
	// durable stock is count minus the records that did.
	StockTaken bool
	State      RecordState
	Time       time.Time
}
