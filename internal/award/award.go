// Package award holds award kinds and what users won: award records and their
// delivery.
package award

// Key says how an award is delivered.
type Key string

// Award keys with a built-in deliverer. Any other key is delivered by a configured
// webhook or kept for an operator.
const (
	KeyCreditRandom    Key = "user_credit_random"
	KeyCreditBlacklist Key = "user_credit_blacklist"
)

// Award is a prize kind.
type Award struct {
	ID     int64
	Key    Key
	Config string // delivery parameter, e.g. "1,100" for a credit range
	Desc   string
}
