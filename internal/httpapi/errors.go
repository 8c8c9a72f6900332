package httpapi

import (
	"errors"

	"github.com/bigmarket/bigmarket/internal/strategy"
)

// errorCodes maps domain sentinels to codes; the first match wins. Only this
// layer turns business errors into transport codes.
var errorCodes = []struct {
	err  error
	code string
	info string
}{
	{strategy.ErrNotArmed, CodeNotAssembled, "strategy not assembled"},
	{strategy.ErrWeightNotConfigured, CodeWeightNotSet, "rule_weight not configured"},
}

// mapError returns the codeError for a known domain error, or err itself.
func mapError(err error) error {
	for _, m := range errorCodes {
		if errors.Is(err, m.err) {
			return &codeError{code: m.code, info: m.info}
		}
	}
	return err
}
