package httpapi

import (
	"context"
	"net/http"

	"github.com/bigmarket/bigmarket/internal/money"
)

// ConsoleService serves the console's read-only views, computed from the
// database and the stock counters, so every instance of a fleet answers the
// same.
type ConsoleService interface {
	// Stats computes the dashboard's figures.
	Stats(ctx context.Context) (Stats, error)
	// Activities lists the activities in force with their SKUs and the
	// stock of their strategy's awards.
	Activities(ctx context.Context) ([]ActivityStock, error)
}

// ActivityStock is one activity with its SKUs and its strategy's awards, each
// with its stock.
type ActivityStock struct {
	ActivityID int64        `json:"activityId"`
	Name       string       `json:"activityName"`
	Desc       string       `json:"activityDesc"`
	State      string       `json:"state"`
	Begin      int64        `json:"beginDateTime"`
	End        int64        `json:"endDateTime"`
	StrategyID int64        `json:"strategyId"`
	SKUs       []SKUDetail  `json:"skus"`
	Awards     []AwardStock `json:"awards"`
}

// SKUDetail is one SKU of an activity: the quota package it sells, its price
// and its stock.
type SKUDetail struct {
	SKU     int64        `json:"sku"`
	CountID int64        `json:"activityCountId"`
	Total   int64        `json:"totalCount"`
	Day     int64        `json:"dayCount"`
	Month   int64        `json:"monthCount"`
	Price   money.Amount `json:"productAmount"`
	Stock   int64        `json:"stockCount"`
	Left    int64        `json:"stockLeft"`
}

// Stats is the answer of GET /api/admin/v1/stats. Times are unix milliseconds.
type Stats struct {
	// Time is when the statistics were computed; DayStart is the start of
	// today in TimeZone (the campaign's), which "today" figures count from.
	Time     int64  `json:"time"`
	TimeZone string `json:"timezone"`
	DayStart int64  `json:"dayStart"`
	// DrawsPerMinute: award records made per minute and award over the last
	// hour (every draw, random_raffle included, makes one).
	DrawsPerMinute []MinuteDraws `json:"drawsPerMinute"`
	// DrawCodes: answers of activity/draw and draw_by_token per minute and
	// code over the last hour, oldest first, counted by every instance and
	// shared (Redis, or in process in embedded mode), so refused draws,
	// which leave no record, are counted too. A minute without answers is
	// left out; the current minute lags by about a second.
	DrawCodes []MinuteCodes `json:"drawCodes"`
	// DrawsPerSecond: draw answers per second by code over the last full
	// minute (the one before Time's), two decimals; a code without answers
	// in it is absent.
	DrawsPerSecond map[string]float64 `json:"drawsPerSecond"`
	// AwardsToday counts today's award records per award id.
	AwardsToday map[string]int64 `json:"awardsToday"`
	// AwardStock and SKUStock are the stock left per award and per SKU.
	AwardStock []AwardStock `json:"awardStock"`
	SKUStock   []SKUStock   `json:"skuStock"`
	// Outbox counts outbox tasks per state (create, completed, fail).
	Outbox map[string]int64 `json:"outbox"`
	// DeliveryFailures counts award records per state failed and
	// pending_manual.
	DeliveryFailures map[string]int64 `json:"deliveryFailures"`
	// Funnel is today's funnel.
	Funnel Funnel `json:"funnel"`
	// CreditsIssued and CreditsSpent sum today's forward and reverse credit
	// orders.
	CreditsIssued money.Amount `json:"creditsIssued"`
	CreditsSpent  money.Amount `json:"creditsSpent"`
}

// MinuteDraws is the draws of one minute that ended in one award.
type MinuteDraws struct {
	Minute  int64 `json:"minute"`
	AwardID int64 `json:"awardId"`
	Count   int64 `json:"count"`
}

// AwardStock is one stock-limited award of a strategy: configured count, units
// the live counter has taken, and left (count − taken).
type AwardStock struct {
	StrategyID int64  `json:"strategyId"`
	AwardID    int64  `json:"awardId"`
	AwardTitle string `json:"awardTitle"`
	// Rate is the configured rate, e.g. "0.8".
	Rate  string `json:"awardRate"`
	Count int64  `json:"count"`
	Taken int64  `json:"taken"`
	Left  int64  `json:"left"`
}

// SKUStock is one SKU's stock: configured units and units left.
type SKUStock struct {
	SKU        int64 `json:"sku"`
	ActivityID int64 `json:"activityId"`
	Stock      int64 `json:"stock"`
	Left       int64 `json:"left"`
}

// Funnel is today's way from sign-in to delivery: users who signed in, quota
// orders completed, raffle orders, award records and those delivered
// (completed). The "system" user of random_raffle is left out.
type Funnel struct {
	SignIns   int64 `json:"signIns"`
	Quota     int64 `json:"quota"`
	Draws     int64 `json:"draws"`
	Awards    int64 `json:"awards"`
	Delivered int64 `json:"delivered"`
}

func (s *Server) statsRoutes() {
	if s.deps.Console == nil {
		return
	}
	s.adminRoute(http.MethodGet, admin+"stats", func(r *http.Request) (any, error) { return s.deps.Console.Stats(r.Context()) })
	s.adminRoute(http.MethodGet, admin+"activities", func(r *http.Request) (any, error) { return s.deps.Console.Activities(r.Context()) })
}
