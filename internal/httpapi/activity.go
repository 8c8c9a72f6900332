package httpapi

import (
	"context"
	"net/http"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/draw"
)

// ActivityService is what the activity endpoints need.
type ActivityService interface {
	// Draw runs one draw.
	Draw(ctx context.Context, userID string, activityID int64) (draw.Result, error)
	// Armory makes sure the activity and its strategy are assembled.
	Armory(ctx context.Context, activityID int64) error
	// Account reads a user's quota on an activity (zeros without an account).
	Account(ctx context.Context, userID string, activityID int64) (activity.Account, error)
	// SKUProducts lists an activity's SKUs with stock and quota package.
	SKUProducts(ctx context.Context, activityID int64) ([]draw.SKUProduct, error)
	// StageActivity returns the activity a channel/source shows.
	StageActivity(ctx context.Context, channel, source string) (int64, error)
	// AwardList lists the activity's awards with the user's lock state.
	AwardList(ctx context.Context, userID string, activityID int64) ([]draw.AwardItem, error)
	// RuleWeight lists the rule_weight groups with the user's progress.
	RuleWeight(ctx context.Context, userID string, activityID int64) ([]draw.WeightItem, error)
}

func (s *Server) activityRoutes() {
	if s.deps.Activity == nil {
		return
	}
	s.route(http.MethodGet, v1+"activity/armory", s.activityArmory)
	s.route(http.MethodGet, v1+"activity/query_stage_activity_id", s.stageActivity)
	s.userRoute(http.MethodPost, v1+"activity/draw", "draw_by_token", s.activityDraw)
	s.userRoute(http.MethodPost, v1+"activity/query_user_activity_account", "query_user_activity_account_by_token", s.userAccount)
	s.route(http.MethodPost, v1+"activity/query_sku_product_list_by_activity_id", s.skuProducts)
	s.userRoute(http.MethodPost, v1+"strategy/query_raffle_award_list", "query_raffle_award_list_by_token", s.awardList)
	s.userRoute(http.MethodPost, v1+"strategy/query_raffle_strategy_rule_weight", "query_raffle_strategy_rule_weight_by_token", s.ruleWeight)
}

// userActivityRequest is the body of the user endpoints on an activity.
type userActivityRequest struct {
	UserID     string `json:"userId"`
	ActivityID int64  `json:"activityId"`
}

// decodeUserActivity reads the body; user is the authenticated user when the
// endpoint is a _by_token twin (the body's userId is then ignored).
func decodeUserActivity(r *http.Request, user string) (string, int64, error) {
	var req userActivityRequest
	if err := decodeJSON(r, &req); err != nil {
		return "", 0, err
	}
	if user != "" {
		req.UserID = user
	}
	if err := requireUser(req.UserID); err != nil {
		return "", 0, err
	}
	if err := requireID("activityId", req.ActivityID); err != nil {
		return "", 0, err
	}
	return req.UserID, req.ActivityID, nil
}

func (s *Server) activityArmory(r *http.Request) (any, error) {
	id, err := positiveID("activityId", r.URL.Query().Get("activityId"))
	if err != nil {
		return nil, err
	}
	if err := s.deps.Activity.Armory(r.Context(), id); err != nil {
		return nil, err
	}
	return true, nil
}

func (s *Server) stageActivity(r *http.Request) (any, error) {
	q := r.URL.Query()
	channel, source := q.Get("channel"), q.Get("source")
	if channel == "" || source == "" {
		return nil, badRequest("channel and source are required")
	}
	return s.deps.Activity.StageActivity(r.Context(), channel, source)
}

func (s *Server) activityDraw(r *http.Request, user string) (any, error) {
	userID, activityID, err := decodeUserActivity(r, user)
	if err != nil {
		return nil, err
	}
	return s.deps.Activity.Draw(r.Context(), userID, activityID)
}

type accountResponse struct {
	TotalCount        int64 `json:"totalCount"`
	TotalCountSurplus int64 `json:"totalCountSurplus"`
	DayCount          int64 `json:"dayCount"`
	DayCountSurplus   int64 `json:"dayCountSurplus"`
	MonthCount        int64 `json:"monthCount"`
	MonthCountSurplus int64 `json:"monthCountSurplus"`
}

func (s *Server) userAccount(r *http.Request, user string) (any, error) {
	userID, activityID, err := decodeUserActivity(r, user)
	if err != nil {
		return nil, err
	}
	a, err := s.deps.Activity.Account(r.Context(), userID, activityID)
	if err != nil {
		return nil, err
	}
	return accountResponse{
		TotalCount: a.TotalCount, TotalCountSurplus: a.TotalSurplus,
		DayCount: a.DayCount, DayCountSurplus: a.DaySurplus,
		MonthCount: a.MonthCount, MonthCountSurplus: a.MonthSurplus,
	}, nil
}

// activityIDParam reads activityId from the query or a form body, as the
// original's clients send it.
func activityIDParam(r *http.Request) (int64, error) {
	v, err := formParam(r, "activityId")
	if err != nil {
		return 0, err
	}
	return positiveID("activityId", v)
}

func (s *Server) skuProducts(r *http.Request) (any, error) {
	id, err := activityIDParam(r)
	if err != nil {
		return nil, err
	}
	return s.deps.Activity.SKUProducts(r.Context(), id)
}

func (s *Server) awardList(r *http.Request, user string) (any, error) {
	userID, activityID, err := decodeUserActivity(r, user)
	if err != nil {
		return nil, err
	}
	return s.deps.Activity.AwardList(r.Context(), userID, activityID)
}

func (s *Server) ruleWeight(r *http.Request, user string) (any, error) {
	userID, activityID, err := decodeUserActivity(r, user)
	if err != nil {
		return nil, err
	}
	return s.deps.Activity.RuleWeight(r.Context(), userID, activityID)
}
