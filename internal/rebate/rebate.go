// Package rebate holds behaviour rebates: what a behaviour (daily sign-in, a paid
// order) earns, and the rebate orders that record it.
package rebate

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
