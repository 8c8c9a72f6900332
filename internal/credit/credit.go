// Package credit is the credit ("points") ledger: every change of a user's
// balance is a credit order, unique by its out_business_no, that either adds
// (forward) or spends (reverse) an exact amount. The balance never goes negative:
// a reverse order that would overdraw is refused as a whole.
package credit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bigmarket/bigmarket/internal/money"
)

// Errors returned by the ledger; stores wrap them with the operation and key, so
// test them with errors.Is. The HTTP layer maps ErrInsufficient to
// ERR_CREDIT_001 and ErrDuplicate to 0003.
var (
	// ErrInsufficient reports a reverse order larger than the available balance
	// (or a user without a credit account). Nothing was changed.
	ErrInsufficient = errors.New("credit: balance insufficient")
	// ErrDuplicate reports an order whose out_business_no (or order id) is
	// already in the ledger: the operation was done before; nothing was changed.
	ErrDuplicate = errors.New("credit: duplicate order")
	// ErrInvalidAmount reports an order whose amount is not positive.
	ErrInvalidAmount = errors.New("credit: invalid amount")
	// ErrInvalidOrder reports an order missing its user, order id, business
	// number or trade type.
	ErrInvalidOrder = errors.New("credit: invalid order")
)

// TradeType says in which direction an order moves the balance.
type TradeType string

// Trade types, kept from the original platform.
const (
	// Forward adds the amount to the total and the available balance.
	Forward TradeType = "forward"
	// Reverse spends the amount from the available balance.
	Reverse TradeType = "reverse"
)

// Common trade names.
const (
	TradeAward    = "award"    // credits won in a draw
	TradeRebate   = "rebate"   // credits earned by a behaviour rebate
	TradeExchange = "exchange" // credits spent on a quota SKU
)

// Order is one ledger entry. Amount is always positive; TradeType gives the
// direction.
type Order struct {
	UserID string
	// OrderID identifies the order (idgen); unique.
	OrderID string
	// TradeName says what the order is for (TradeAward, TradeRebate, …).
	TradeName string
	TradeType TradeType
	Amount    money.Amount
	// OutBusinessNo is the caller's idempotency key (the award order id, the
	// rebate order id, the quota order id, …); unique in the ledger.
	OutBusinessNo string
	// Time is when the order was made; the store writes it as create and
	// update time.
	Time time.Time
}

// Validate reports whether o can be applied: it returns an error wrapping
// ErrInvalidAmount for an amount ≤ 0 and ErrInvalidOrder for a missing user,
// order id, business number or an unknown trade type.
func (o Order) Validate() error {
	switch {
	case o.UserID == "" || o.OrderID == "" || o.OutBusinessNo == "":
		return fmt.Errorf("credit order: user[%s] order[%s] out_business_no[%s]: missing id: %w",
			o.UserID, o.OrderID, o.OutBusinessNo, ErrInvalidOrder)
	case o.TradeType != Forward && o.TradeType != Reverse:
		return fmt.Errorf("credit order: user[%s] out_business_no[%s]: trade type %q: %w",
			o.UserID, o.OutBusinessNo, o.TradeType, ErrInvalidOrder)
	case !o.Amount.IsPositive():
		return fmt.Errorf("credit order: user[%s] out_business_no[%s]: amount %s: %w",
			o.UserID, o.OutBusinessNo, o.Amount, ErrInvalidAmount)
	}
	return nil
}

// Storer is the ledger's storage, as the rest of the program uses it
// (creditdb.Store implements it).
type Storer interface {
	// Apply stores o and changes the balance in one transaction. It returns
	// errors wrapping ErrDuplicate, ErrInsufficient, ErrInvalidAmount or
	// ErrInvalidOrder, in which cases nothing changed.
	Apply(ctx context.Context, o Order) error
	// Balance returns the available balance of userID; zero without an account.
	Balance(ctx context.Context, userID string) (money.Amount, error)
	// Ledger returns userID's orders, newest first, at most limit of them.
	Ledger(ctx context.Context, userID string, limit int) ([]Order, error)
}
