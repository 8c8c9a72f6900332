package draw

import "github.com/sony/gobreaker/v2"

// Breaker states as BreakerState reports them.
const (
	BreakerClosed   = "closed"
	BreakerHalfOpen = "half_open"
	BreakerOpen     = "open"
)

// BreakerStates lists every value BreakerState returns, for metrics that
// report one series per state.
var BreakerStates = [...]string{BreakerClosed, BreakerHalfOpen, BreakerOpen}

// BreakerState returns the state of the draw circuit breaker now: BreakerClosed
// (draws run), BreakerOpen (draws answer at once without touching the
// dependencies) or BreakerHalfOpen (a few trial draws run).
func (s *ActivityService) BreakerState() string {
	switch s.breaker.State() {
	case gobreaker.StateOpen:
		return BreakerOpen
	case gobreaker.StateHalfOpen:
		return BreakerHalfOpen
	}
	return BreakerClosed
}
