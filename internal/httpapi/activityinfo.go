package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/bigmarket/bigmarket/internal/activity"
)

// ActivityCatalog lists the configured activities for pages: what an activity
// is called, its period and state.
type ActivityCatalog interface {
	// Activities returns every configured activity, by id.
	Activities(ctx context.Context) []activity.Activity
}

func (s *Server) activityInfoRoutes() {
	if s.deps.Activities == nil {
		return
	}
	s.route(http.MethodPost, v1+"activity/query_activity_list", s.activityList)
	s.route(http.MethodPost, v1+"activity/query_activity_info", s.activityInfo)
}

// activityView is an activity as pages show it. State is the configured state
// (create, open, close); Now is the server's time, so a page can tell not
// started from ended without trusting the device clock.
type activityView struct {
	ActivityID int64     `json:"activityId"`
	Name       string    `json:"activityName"`
	Desc       string    `json:"activityDesc"`
	StrategyID int64     `json:"strategyId"`
	State      string    `json:"state"`
	Begin      time.Time `json:"beginDateTime"`
	End        time.Time `json:"endDateTime"`
	Now        time.Time `json:"now"`
}

func viewOf(a activity.Activity, now time.Time) activityView {
	return activityView{ActivityID: a.ID, Name: a.Name, Desc: a.Desc, StrategyID: a.StrategyID,
		State: string(a.State), Begin: a.Begin, End: a.End, Now: now}
}

// activityList answers every activity, by id.
func (s *Server) activityList(r *http.Request) (any, error) {
	now := time.Now()
	out := []activityView{}
	for _, a := range s.deps.Activities.Activities(r.Context()) {
		out = append(out, viewOf(a, now))
	}
	return out, nil
}

type activityInfoRequest struct {
	ActivityID int64 `json:"activityId"`
}

// activityInfo answers one activity; an unknown id is 0002.
func (s *Server) activityInfo(r *http.Request) (any, error) {
	var req activityInfoRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := requireID("activityId", req.ActivityID); err != nil {
		return nil, err
	}
	for _, a := range s.deps.Activities.Activities(r.Context()) {
		if a.ID == req.ActivityID {
			return viewOf(a, time.Now()), nil
		}
	}
	return nil, badRequest("unknown activity %d", req.ActivityID)
}
