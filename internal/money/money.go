// Package money holds Amount, an exact decimal with two fraction digits used for
// credits and prices. Amounts are never floats.
package money

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalid is returned by Parse for text that is not a decimal with at most two
// fraction digits, or that is out of range.
var ErrInvalid = errors.New("money: invalid amount")

// maxUnits bounds amounts to ±10^15 hundredths so that sums of many amounts stay
// far from int64 overflow.
const maxUnits = 1_000_000_000_000_000

// Amount is a signed amount in hundredths (1 = 0.01). The zero value is 0.00.
type Amount struct{ units int64 }

// FromCents returns the amount of n hundredths.
func FromCents(n int64) Amount { return Amount{units: n} }

// FromInt returns the amount of n whole units.
func FromInt(n int64) Amount { return Amount{units: n * 100} }

// Parse reads a decimal such as "10", "-3.5" or "200.00". More than two fraction
// digits, exponents, spaces and values beyond ±10^13 return ErrInvalid.
func Parse(s string) (Amount, error) {
	orig := s
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" || len(frac) > 2 || (hasDot && frac == "") || !digits(intPart) || !digits(frac) || len(intPart) > 13 {
		return Amount{}, fmt.Errorf("%w: %q", ErrInvalid, orig)
	}
	whole, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil {
		return Amount{}, fmt.Errorf("%w: %q", ErrInvalid, orig)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	cents, _ := strconv.ParseInt(frac, 10, 64)
	u := whole*100 + cents
	if u > maxUnits {
		return Amount{}, fmt.Errorf("%w: %q", ErrInvalid, orig)
	}
	if neg {
		u = -u
	}
	return Amount{units: u}, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Cents returns the amount in hundredths.
func (a Amount) Cents() int64 { return a.units }

// String formats the amount with exactly two fraction digits, e.g. "-3.50".
func (a Amount) String() string {
	u := a.units
	sign := ""
	if u < 0 {
		sign, u = "-", -u
	}
	return fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
}

// Add returns a+b.
func (a Amount) Add(b Amount) Amount { return Amount{units: a.units + b.units} }

// Sub returns a-b.
func (a Amount) Sub(b Amount) Amount { return Amount{units: a.units - b.units} }

// IsPositive reports whether a > 0.
func (a Amount) IsPositive() bool { return a.units > 0 }

// IsNegative reports whether a < 0.
func (a Amount) IsNegative() bool { return a.units < 0 }

// Cmp returns -1, 0 or +1 as a is less than, equal to or greater than b.
func (a Amount) Cmp(b Amount) int {
	switch {
	case a.units < b.units:
		return -1
	case a.units > b.units:
		return 1
	}
	return 0
}

// MarshalJSON writes the amount as a JSON number with two fraction digits.
func (a Amount) MarshalJSON() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalJSON reads a JSON number or string with at most two fraction digits.
func (a *Amount) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := Parse(s)
	if err != nil {
		return err
	}
	*a = v
	return nil
}
