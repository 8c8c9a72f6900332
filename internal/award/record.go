package award

import (
	"time"
	"unicode/utf8"

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
	// RecordDelivering: claimed by one webhook delivery, which alone calls the
	// webhook; the claim's update time lets a claim left by a crashed process
	// be taken again once it is older than the claim timeout.
	RecordDelivering RecordState = "delivering"
	// RecordFailed: the reconciler gave up after its attempts; LastError says
	// why. An operator retries it (admin API) once the cause is fixed.
	RecordFailed RecordState = "failed"
)

// MaxLastErrorLen bounds the stored last delivery error, in bytes.
const MaxLastErrorLen = 512

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
	// Attempts counts the reconciler's delivery attempts of a record left
	// unfinished (zero for a record delivered at once).
	Attempts int
	// LastError is the last delivery failure ("" when none), at most
	// MaxLastErrorLen bytes.
	LastError string
	// Updated is the time of the record's last change (its claim time while
	// RecordDelivering); zero when not read from storage.
	Updated time.Time
}

// TruncateError returns err's message cut to MaxLastErrorLen bytes at a rune
// boundary, "" for a nil err.
func TruncateError(err error) string {
	if err == nil {
		return ""
	}
	return truncate(err.Error(), MaxLastErrorLen)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
