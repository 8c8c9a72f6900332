package draw

import (
	"context"
	"errors"
	"fmt"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/money"
	"github.com/bigmarket/bigmarket/internal/strategy"
)

// ErrUnknownStage: no active stage for a channel and source.
var ErrUnknownStage = errors.New("draw: no active stage for channel and source")

// Quotas reads users' quota accounts and SKU stock (activity.Service).
type Quotas interface {
	Account(ctx context.Context, userID string, activityID int64) (activity.Account, error)
	TodayDraws(ctx context.Context, userID string, activityID int64) (int64, error)
	TotalDraws(ctx context.Context, userID string, activityID int64) (int64, error)
	SKUStockLeft(ctx context.Context, sku activity.SKU) (int64, error)
}

// Views is the strategy engine's read side.
type Views interface {
	Awards(strategyID int64) ([]strategy.AwardView, error)
	WeightGroups(strategyID int64) ([]strategy.WeightGroup, error)
}

// SKUProduct is one row of query_sku_product_list_by_activity_id.
type SKUProduct struct {
	SKU               int64        `json:"sku"`
	ActivityID        int64        `json:"activityId"`
	ActivityCountID   int64        `json:"activityCountId"`
	StockCount        int64        `json:"stockCount"`
	StockCountSurplus int64        `json:"stockCountSurplus"`
	ProductAmount     money.Amount `json:"productAmount"`
	ActivityCount     CountView    `json:"activityCount"`
}

// CountView is a quota package as the API shows it.
type CountView struct {
	TotalCount int64 `json:"totalCount"`
	DayCount   int64 `json:"dayCount"`
	MonthCount int64 `json:"monthCount"`
}

// AwardItem is one row of query_raffle_award_list.
type AwardItem struct {
	AwardID            int64  `json:"awardId"`
	AwardTitle         string `json:"awardTitle"`
	AwardSubtitle      string `json:"awardSubtitle"`
	Sort               int    `json:"sort"`
	AwardRuleLockCount int64  `json:"awardRuleLockCount"`
	IsAwardUnlock      bool   `json:"isAwardUnlock"`
	WaitUnLockCount    int64  `json:"waitUnLockCount"`
	// AwardKey says how the award is delivered (user_credit_random, …); pages
	// pick a default icon by it.
	AwardKey string `json:"awardKey"`
	// Image is the prize's picture from the campaign file (a path on this
	// server or a data: URL); omitted when the campaign sets none.
	Image string `json:"image,omitempty"`
}

// WeightItem is one row of query_raffle_strategy_rule_weight.
type WeightItem struct {
	RuleWeightCount                  int64            `json:"ruleWeightCount"`
	UserActivityAccountTotalUseCount int64            `json:"userActivityAccountTotalUseCount"`
	StrategyAwards                   []WeightAwardRef `json:"strategyAwards"`
}

// WeightAwardRef names an award of a weight group.
type WeightAwardRef struct {
	AwardID    int64  `json:"awardId"`
	AwardTitle string `json:"awardTitle"`
}

// activityOf returns a configured activity.
func (s *ActivityService) activityOf(activityID int64) (activity.Activity, error) {
	act, ok := s.cfg.Catalog.Current().Activities[activityID]
	if !ok {
		return activity.Activity{}, fmt.Errorf("activity[%d]: %w", activityID, activity.ErrUnknownActivity)
	}
	return act, nil
}

// Armory checks that the activity exists and its strategy is assembled, and
// warms its SKU counters. It answers from memory; only an activity (or strategy)
// not known yet makes it refresh the configuration (shared and rate limited, as
// the endpoint is public).
func (s *ActivityService) Armory(ctx context.Context, activityID int64) error {
	if act, err := s.activityOf(activityID); (err != nil || !s.cfg.Engine.Armed(act.StrategyID)) && s.cfg.Reloader != nil {
		if _, err := s.cfg.Reloader.Refresh(ctx); err != nil {
			return fmt.Errorf("armory activity[%d]: %w", activityID, err)
		}
	}
	act, err := s.activityOf(activityID)
	if err != nil {
		return err
	}
	if !s.cfg.Engine.Armed(act.StrategyID) {
		return fmt.Errorf("armory activity[%d] strategy[%d]: %w", activityID, act.StrategyID, strategy.ErrNotArmed)
	}
	for _, sku := range s.cfg.Catalog.Current().SKUsByActivity[activityID] {
		if _, err := s.cfg.Quotas.SKUStockLeft(ctx, sku); err != nil {
			return fmt.Errorf("armory activity[%d] sku[%d]: %w", activityID, sku.SKU, err)
		}
	}
	return nil
}

// Account reads the user's quota on a configured activity.
func (s *ActivityService) Account(ctx context.Context, userID string, activityID int64) (activity.Account, error) {
	if _, err := s.activityOf(activityID); err != nil {
		return activity.Account{}, err
	}
	return s.cfg.Quotas.Account(ctx, userID, activityID)
}

// SKUProducts lists the activity's SKUs with their live stock.
func (s *ActivityService) SKUProducts(ctx context.Context, activityID int64) ([]SKUProduct, error) {
	if _, err := s.activityOf(activityID); err != nil {
		return nil, err
	}
	snap := s.cfg.Catalog.Current()
	out := []SKUProduct{}
	for _, sku := range snap.SKUsByActivity[activityID] {
		left, err := s.cfg.Quotas.SKUStockLeft(ctx, sku)
		if err != nil {
			return nil, fmt.Errorf("sku products activity[%d]: %w", activityID, err)
		}
		c := snap.Counts[sku.CountID]
		out = append(out, SKUProduct{
			SKU: sku.SKU, ActivityID: sku.ActivityID, ActivityCountID: sku.CountID,
			StockCount: sku.Stock, StockCountSurplus: left, ProductAmount: sku.Price,
			ActivityCount: CountView{TotalCount: c.Total, DayCount: c.Day, MonthCount: c.Month},
		})
	}
	return out, nil
}

// StageActivity returns the activity an active stage shows for channel/source.
func (s *ActivityService) StageActivity(_ context.Context, channel, source string) (int64, error) {
	for _, st := range s.cfg.Catalog.Current().Stages {
		if st.Channel == channel && st.Source == source && st.State == activity.StageActive {
			return st.ActivityID, nil
		}
	}
	return 0, fmt.Errorf("stage %s/%s: %w", channel, source, ErrUnknownStage)
}

// AwardList lists the activity's awards in display order with the user's lock
// state from today's draws.
func (s *ActivityService) AwardList(ctx context.Context, userID string, activityID int64) ([]AwardItem, error) {
	act, err := s.activityOf(activityID)
	if err != nil {
		return nil, err
	}
	views, err := s.cfg.Views.Awards(act.StrategyID)
	if err != nil {
		return nil, fmt.Errorf("award list activity[%d]: %w", activityID, err)
	}
	today, err := s.cfg.Quotas.TodayDraws(ctx, userID, activityID)
	if err != nil {
		return nil, fmt.Errorf("award list activity[%d]: %w", activityID, err)
	}
	kinds := s.cfg.Catalog.Current().Awards
	out := make([]AwardItem, 0, len(views))
	for _, v := range views {
		out = append(out, AwardItem{
			AwardKey: string(kinds[v.AwardID].Key), Image: v.Image,
			AwardID: v.AwardID, AwardTitle: v.Title, AwardSubtitle: v.Subtitle, Sort: v.Sort,
			AwardRuleLockCount: v.LockCount,
			IsAwardUnlock:      today >= v.LockCount,
			WaitUnLockCount:    max(v.LockCount-today, 0),
		})
	}
	return out, nil
}

// RuleWeight lists the strategy's rule_weight groups with the user's total
// draws on the activity; strategy.ErrWeightNotConfigured when it has none.
func (s *ActivityService) RuleWeight(ctx context.Context, userID string, activityID int64) ([]WeightItem, error) {
	act, err := s.activityOf(activityID)
	if err != nil {
		return nil, err
	}
	groups, err := s.cfg.Views.WeightGroups(act.StrategyID)
	if err != nil {
		return nil, fmt.Errorf("rule weight activity[%d]: %w", activityID, err)
	}
	views, err := s.cfg.Views.Awards(act.StrategyID)
	if err != nil {
		return nil, fmt.Errorf("rule weight activity[%d]: %w", activityID, err)
	}
	titles := make(map[int64]string, len(views))
	for _, v := range views {
		titles[v.AwardID] = v.Title
	}
	total, err := s.cfg.Quotas.TotalDraws(ctx, userID, activityID)
	if err != nil {
		return nil, fmt.Errorf("rule weight activity[%d]: %w", activityID, err)
	}
	out := make([]WeightItem, 0, len(groups))
	for _, g := range groups {
		item := WeightItem{RuleWeightCount: g.Threshold, UserActivityAccountTotalUseCount: total, StrategyAwards: []WeightAwardRef{}}
		for _, id := range g.AwardIDs {
			item.StrategyAwards = append(item.StrategyAwards, WeightAwardRef{AwardID: id, AwardTitle: titles[id]})
		}
		out = append(out, item)
	}
	return out, nil
}
