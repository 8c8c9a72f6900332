package httpapi

import (
	"errors"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/credit"
	"github.com/bigmarket/bigmarket/internal/draw"
	"github.com/bigmarket/bigmarket/internal/rebate"
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
	{strategy.ErrNoAward, CodeNotAssembled, "strategy not assembled: a rule tree has no award to give"},
	{strategy.ErrWeightNotConfigured, CodeWeightNotSet, "rule_weight not configured"},
	{draw.ErrDegraded, CodeDegraded, "degraded: draws are switched off for now"},
	{draw.ErrRateLimited, CodeRateLimited, "too many requests: rate limited"},
	{draw.ErrCircuitOpen, CodeCircuitBroken, "circuit broken: try again later"},
	{draw.ErrUnknownStage, CodeIllegalParameter, "no active stage for this channel and source"},
	{activity.ErrUnknownActivity, CodeIllegalParameter, "unknown activity"},
	{activity.ErrUnknownSKU, CodeIllegalParameter, "unknown sku"},
	{activity.ErrInvalid, CodeIllegalParameter, "invalid request"},
	{activity.ErrNotOpen, CodeActivityNotOpen, "activity not open"},
	{activity.ErrNotInDate, CodeActivityNotDate, "activity not in date"},
	{activity.ErrSKUStockOut, CodeSKUStockOut, "sku stock insufficient"},
	{activity.ErrTotalQuota, CodeTotalQuotaOut, "total quota insufficient"},
	{activity.ErrMonthQuota, CodeMonthQuotaOut, "month quota insufficient"},
	{activity.ErrDayQuota, CodeDayQuotaOut, "day quota insufficient"},
	{activity.ErrOrderUsed, CodeOrderUsed, "raffle order already used"},
	{activity.ErrGrantConflict, CodeDuplicate, "grant id already used for another grant"},
	{activity.ErrDuplicate, CodeDuplicate, "duplicate request"},
	{credit.ErrInsufficient, CodeCreditShort, "credit insufficient"},
	{credit.ErrDuplicate, CodeDuplicate, "duplicate request"},
	{credit.ErrInvalidAmount, CodeIllegalParameter, "invalid amount"},
	{rebate.ErrDuplicate, CodeDuplicate, "already rebated (a second sign-in the same day)"},
	{rebate.ErrNoRebate, CodeIllegalParameter, "no rebate is configured for this behaviour"},
	{rebate.ErrInvalid, CodeIllegalParameter, "invalid rebate request"},
	{credit.ErrInvalidOrder, CodeIllegalParameter, "invalid credit order"},
	{award.ErrConfigNotRange, CodeAwardConfigRange, "award config is not a range"},
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
