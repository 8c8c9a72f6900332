package httpapi

import "time"

// AnswerCounter counts the answers of the draw endpoints by code. Count is
// called once per answer, on the request's goroutine, so it must not block
// (an implementation counts in memory and shares the counts in the
// background).
type AnswerCounter interface {
	// Count counts one answer with code given at time at.
	Count(at time.Time, code string)
}

// isDrawEndpoint reports whether Deps.DrawAnswers counts the answers of the
// endpoint: the activity draw and its _by_token twin.
func isDrawEndpoint(name string) bool {
	return name == v1+"activity/draw" || name == v1+"activity/draw_by_token"
}

// MinuteCodes is the draw answers of one minute by code.
type MinuteCodes struct {
	// Minute starts the minute, unix milliseconds.
	Minute int64 `json:"minute"`
	// Counts maps each answer code given in the minute to its count.
	Counts map[string]int64 `json:"counts"`
}
