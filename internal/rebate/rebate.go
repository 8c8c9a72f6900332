// Package rebate holds behaviour rebates: what a behaviour (daily sign-in, a paid
// order) earns, and the rebate orders that record it.
//
// A rebate is made in two steps, as in the original platform. First, for every
// open rule of the behaviour, a rebate order is stored together with a
// send_rebate outbox task, all in one transaction on the user's shard; each
// order's biz id (userId_type_outBusinessNo) is unique, so the same behaviour
// with the same business number (a second sign-in the same day, a paid order
// reported twice) changes nothing and answers ErrDuplicate. Then the Deliverer,
// the consumer of send_rebate, grants what each order earns: a free quota order
// for a SKU, or a forward credit order, each idempotent by the biz id.
package rebate

import (
	"errors"
	"fmt"
	"time"
)

// Errors callers branch on; they are wrapped with the operation and key, so test
// them with errors.Is. The HTTP layer maps ErrDuplicate to 0003 and ErrNoRebate
// and ErrInvalid to 0002.
var (
	// ErrDuplicate reports a rebate whose biz id is already stored (the same
	// behaviour and business number again, e.g. a second sign-in the same
	// day): nothing was changed.
	ErrDuplicate = errors.New("rebate: duplicate rebate")
	// ErrNoRebate reports a behaviour without any open rebate rule: there is
	// nothing to earn, so nothing was stored.
	ErrNoRebate = errors.New("rebate: no open rebate rule for the behaviour")
	// ErrInvalid reports a malformed request: an empty user, behaviour or
	// business number, or one too long for its column (see MaxBizIDLen).
	ErrInvalid = errors.New("rebate: invalid request")
	// ErrBadRule reports open rules of a behaviour that cannot be used: two of
	// the same type (their biz ids would collide) or an unknown type. It is a
	// configuration error; nothing was stored.
	ErrBadRule = errors.New("rebate: unusable rebate rule")
	// ErrNotFound reports a rebate order that does not exist.
	ErrNotFound = errors.New("rebate: order not found")
)

// Type is what a rebate gives.
type Type string

// Rebate types.
const (
	TypeIntegral Type = "integral" // credits; config is the amount
	TypeSKU      Type = "sku"      // a free quota order; config is the SKU
)

// State says whether a rebate rule is in force.
type State string

// Rebate rule states.
const (
	StateOpen  State = "open"
	StateClose State = "close"
)

// BehaviorSign is the daily sign-in behaviour.
const BehaviorSign = "sign"

// Rule is one row of daily_behavior_rebate: what a behaviour earns.
type Rule struct {
	ID       int64
	Behavior string
	Type     Type
	Config   string
	Desc     string
	State    State
}

// OrderState is how far a rebate order's delivery went.
type OrderState string

// Rebate order states.
const (
	// OrderCreate: stored with its send_rebate task, not yet delivered.
	OrderCreate OrderState = "create"
	// OrderCompleted: the credits or quota were granted.
	OrderCompleted OrderState = "completed"
	// OrderFailed: the reconciler gave up after its attempts (LastError says
	// why); an operator looks into it.
	OrderFailed OrderState = "failed"
)

// Limits of the identifiers of a rebate. The biz id becomes the out_business_no
// of the credit or quota order that delivers the rebate, a 64-character column;
// the user id, behaviour and business number are 64-character columns too.
const (
	MaxBizIDLen         = 64
	MaxUserIDLen        = 64
	MaxBehaviorLen      = 64
	MaxOutBusinessNoLen = 64
)

// Order is one rebate order: a row of user_behavior_rebate_order, what one rule
// earned one user for one behaviour and business number.
type Order struct {
	UserID string
	// OrderID identifies the order (idgen, at most 32 characters); unique.
	OrderID string
	// Behavior is the behaviour that earned it (BehaviorSign, …).
	Behavior   string
	RebateDesc string
	// Type and Config are the rule's: what is given, and how much or which.
	Type   Type
	Config string
	// OutBusinessNo is the business number of the behaviour (yyyyMMdd for a
	// sign-in, the partner's order number for a paid order).
	OutBusinessNo string
	// BizID is BizID(UserID, Type, OutBusinessNo); unique.
	BizID string
	State OrderState
	// Time is when the order was made; the store writes it as create time.
	Time time.Time
	// Attempts counts the reconciler's delivery attempts of an order left
	// undelivered (zero for an order delivered at once).
	Attempts int
	// LastError is the last delivery failure the reconciler saw, "" if none.
	LastError string
	// Updated is the time of the order's last change; zero when not read from
	// storage.
	Updated time.Time
}

// BizID returns the unique key of a rebate order, in the original platform's
// format: userId_type_outBusinessNo.
func BizID(userID string, t Type, outBusinessNo string) string {
	return userID + "_" + string(t) + "_" + outBusinessNo
}

// SignOutBusinessNo returns the business number of a sign-in at now: the day
// yyyyMMdd in loc (the campaign's time zone). A nil loc means time.Local.
func SignOutBusinessNo(now time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.Local
	}
	return now.In(loc).Format("20060102")
}

// SendRebate is the data of a send_rebate event: what the Deliverer needs to
// grant one rebate order.
type SendRebate struct {
	UserID   string `json:"userId"`
	Behavior string `json:"behaviorType"`
	Type     Type   `json:"rebateType"`
	Config   string `json:"rebateConfig"`
	// BizID is the order's biz id: the out_business_no of the credit or quota
	// order that delivers it, so that delivering twice grants once.
	BizID string `json:"bizId"`
	// OrderID is the rebate order's id, marked completed after delivery.
	OrderID string `json:"orderId"`
}

// validRequest checks the identifiers of a rebate request.
func validRequest(userID, behavior, outBusinessNo string) error {
	switch {
	case userID == "" || behavior == "" || outBusinessNo == "":
		return fmt.Errorf("rebate: user[%s] behavior[%s] out_business_no[%s]: empty field: %w",
			userID, behavior, outBusinessNo, ErrInvalid)
	case len(userID) > MaxUserIDLen || len(behavior) > MaxBehaviorLen || len(outBusinessNo) > MaxOutBusinessNoLen:
		return fmt.Errorf("rebate: user[%.64s] behavior[%.64s] out_business_no[%.64s]: field too long: %w",
			userID, behavior, outBusinessNo, ErrInvalid)
	}
	return nil
}
