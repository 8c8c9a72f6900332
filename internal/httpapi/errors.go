package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

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

// codeTexts is the one table of the envelope's codes with their texts: the
// zh-CN text is worded as the original platform's, the English one is used
// when a handler gives no more precise message. Codes never change with the
// language; only info does.
var codeTexts = map[string]struct{ zh, en string }{
	CodeSuccess:          {"调用成功", "success"},
	CodeFailure:          {"调用失败", "internal error"},
	CodeIllegalParameter: {"参数错误", "illegal parameter"},
	CodeDuplicate:        {"唯一索引冲突", "duplicate request"},
	CodeDegraded:         {"活动已降级", "degraded: draws are switched off for now"},
	CodeRateLimited:      {"访问限流拦截", "too many requests: rate limited"},
	CodeCircuitBroken:    {"访问熔断拦截", "circuit broken: try again later"},
	CodeGatewayFailure:   {"网关调用失败", "gateway failure"},
	CodeAppTokenRefused:  {"应用令牌无效", "app token refused"},
	CodeWeightNotSet:     {"业务异常，策略规则中 rule_weight 权重规则已适用但未配置", "rule_weight not configured"},
	CodeNotAssembled:     {"抽奖策略配置未装配", "strategy not assembled"},
	CodeActivityNotOpen:  {"活动未开启", "activity not open"},
	CodeActivityNotDate:  {"不在活动有效期内", "activity not in date"},
	CodeSKUStockOut:      {"活动库存不足", "sku stock insufficient"},
	CodeTotalQuotaOut:    {"账户总额度不足", "total quota insufficient"},
	CodeMonthQuotaOut:    {"账户月度额度不足", "month quota insufficient"},
	CodeDayQuotaOut:      {"账户日额度不足", "day quota insufficient"},
	CodeOrderUsed:        {"用户抽奖单已使用过，不可重复抽奖", "raffle order already used"},
	CodeAwardConfigRange: {"奖品配置不是一个范围值，如1,100", "award config is not a range"},
	CodeCreditShort:      {"用户积分账户额度不足", "credit insufficient"},
}

// wantsChinese reports whether the request's Accept-Language prefers Chinese
// over English: the tag with the highest q-value that is zh… or en… decides;
// neither means English.
func wantsChinese(r *http.Request) bool {
	best, bestQ := "", -1.0
	for part := range strings.SplitSeq(r.Header.Get("Accept-Language"), ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		tag = strings.ToLower(strings.TrimSpace(tag))
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			q = f
		}
		lang, _, _ := strings.Cut(tag, "-")
		if (lang == "zh" || lang == "en") && q > bestQ {
			best, bestQ = lang, q
		}
	}
	return best == "zh"
}

// localize sets env.Info to the request's language: for a Chinese client the
// error's own Chinese text if it has one, else the code's; otherwise the
// handler's English text (or the code's English text when the handler gave
// none). err is the handler's error (nil on success).
func localize(r *http.Request, env Envelope, err error) Envelope {
	t, ok := codeTexts[env.Code]
	var ce *codeError
	switch {
	case !ok:
	case wantsChinese(r) && errors.As(err, &ce) && ce.zh != "":
		env.Info = ce.zh
	case wantsChinese(r):
		env.Info = t.zh
	case env.Info == "":
		env.Info = t.en
	}
	return env
}
