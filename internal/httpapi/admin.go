package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/campaign"
	"github.com/bigmarket/bigmarket/internal/rebate"
)

// CampaignService validates, applies and exports campaign files.
type CampaignService interface {
	// Validate lists every problem of a campaign file; none means valid.
	Validate(data []byte) campaign.Problems
	// Apply validates and applies a campaign file all-or-nothing; a file with
	// problems changes nothing and returns them.
	Apply(ctx context.Context, data []byte) (campaign.Summary, campaign.Problems, error)
	// Export returns the stored configuration as a campaign file (YAML).
	Export(ctx context.Context) ([]byte, error)
	// Revisions returns up to limit applied campaign files, newest first.
	Revisions(ctx context.Context, limit int) ([]CampaignRevision, error)
}

// CampaignRevision is one applied campaign file: when, by whom (the admin
// token's name, or "system" for the demo and the CLI) and what it upserted.
type CampaignRevision struct {
	Time    time.Time
	Actor   string
	Summary campaign.Summary
}

// revisionView is a revision as GET campaign/revisions lists it.
type revisionView struct {
	Revision    int64            `json:"revision"`
	Time        int64            `json:"time"`
	Actor       string           `json:"actor"`
	Description string           `json:"summary"`
	Counts      campaign.Summary `json:"counts"`
}

func (s *Server) campaignRevisions(r *http.Request) (any, error) {
	limit, err := limitParam(r)
	if err != nil {
		return nil, err
	}
	rs, err := s.deps.Campaigns.Revisions(r.Context(), limit)
	if err != nil {
		return nil, err
	}
	out := make([]revisionView, 0, len(rs))
	for _, rv := range rs {
		out = append(out, revisionView{rv.Summary.Revision, rv.Time.UnixMilli(), rv.Actor, rv.Summary.Describe(), rv.Summary})
	}
	return out, nil
}

const admin = "/api/admin/v1/"

func (s *Server) adminRoutes() {
	s.adminRoute(http.MethodPost, admin+"campaign/validate", s.campaignValidate)
	s.adminRoute(http.MethodPost, admin+"campaign/apply", s.campaignApply)
	s.adminRoute(http.MethodGet, admin+"campaign/export", s.campaignExport)
	s.adminRoute(http.MethodGet, admin+"campaign/revisions", s.campaignRevisions)
	s.adminRoute(http.MethodPost, admin+"strategy/simulate", s.strategySimulate)
	if s.deps.Ops != nil {
		s.adminRoute(http.MethodPost, admin+"users/{userId}/awards/{orderId}/retry", s.retryAward)
		s.adminRoute(http.MethodPost, admin+"users/{userId}/rebates/{orderId}/retry", s.retryRebate)
	}
}

// awardRecordViewOf is an award record as operators see it.
func awardRecordViewOf(a award.Record) awardRecordView {
	return awardRecordView{OrderID: a.OrderID, ActivityID: a.ActivityID, StrategyID: a.StrategyID, AwardID: a.AwardID,
		AwardTitle: a.AwardTitle, AwardConfig: a.AwardConfig, State: string(a.State), Time: a.Time.UnixMilli(),
		Attempts: a.Attempts, LastError: a.LastError}
}

// retryPath reads and checks the user and order of a retry path.
func retryPath(r *http.Request) (user, order string, err error) {
	user, order = r.PathValue("userId"), r.PathValue("orderId")
	if err := requireUser(user); err != nil {
		return "", "", err
	}
	if order == "" || len(order) > 64 {
		return "", "", badRequest("orderId is required (at most 64 bytes)")
	}
	return user, order, nil
}

// retryAward redelivers a user's award record now: a failed, pending_manual or
// unfinished record is reset (no reconcile attempts counted) and delivered; a
// completed record, or one being delivered, is answered as it is. The answer
// is the record after the attempt (awardState, lastError).
func (s *Server) retryAward(r *http.Request) (any, error) {
	user, order, err := retryPath(r)
	if err != nil {
		return nil, err
	}
	rec, err := s.deps.Ops.RetryAward(r.Context(), user, order)
	if errors.Is(err, award.ErrRecordNotFound) {
		return nil, badRequest("no award record %q of user %q", order, user)
	}
	if err != nil {
		return nil, err
	}
	if err := s.audit(r, ActionAwardRetry, user, "award record %s (award %d) retried: %s", order, rec.AwardID, rec.State); err != nil {
		return nil, err
	}
	return awardRecordViewOf(rec), nil
}

func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, jsonError(err)
	}
	if len(b) == 0 {
		return nil, badRequest("request body is empty: send a campaign file (YAML or JSON)")
	}
	return b, nil
}

// problemsResponse is the data of a campaign validation: each problem as
// "path: message" (problems) and, for editors, with its place in the submitted
// text (items).
type problemsResponse struct {
	Problems []string      `json:"problems"`
	Items    []problemItem `json:"items"`
}

// problemItem is one problem of a campaign file and where it is: line and
// column are 1-based, the column counted in characters.
type problemItem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
}

func problemsError(p campaign.Problems) error {
	items := make([]problemItem, 0, len(p))
	for _, pr := range p {
		items = append(items, problemItem{Path: pr.Path, Message: pr.Message, Line: pr.Line, Column: pr.Column})
	}
	return &codeError{code: CodeIllegalParameter, info: strconv.Itoa(len(p)) + " problem(s) in the campaign file",
		data: problemsResponse{Problems: p.Strings(), Items: items}}
}

func (s *Server) campaignValidate(r *http.Request) (any, error) {
	b, err := readBody(r)
	if err != nil {
		return nil, err
	}
	if p := s.deps.Campaigns.Validate(b); len(p) > 0 {
		return nil, problemsError(p)
	}
	return problemsResponse{Problems: []string{}, Items: []problemItem{}}, nil
}

func (s *Server) campaignApply(r *http.Request) (any, error) {
	b, err := readBody(r)
	if err != nil {
		return nil, err
	}
	sum, p, err := s.deps.Campaigns.Apply(r.Context(), b)
	if len(p) > 0 {
		return nil, problemsError(p)
	}
	if err != nil {
		return nil, err
	}
	if err := s.audit(r, ActionCampaignApply, "revision "+itoa(sum.Revision), "%s", sum.Describe()); err != nil {
		return nil, err
	}
	return sum, nil
}

func (s *Server) campaignExport(r *http.Request) (any, error) {
	b, err := s.deps.Campaigns.Export(r.Context())
	if err != nil {
		return nil, err
	}
	return yamlText(b), nil
}

// yamlText makes the exported YAML a JSON string in the envelope.
type yamlText []byte

func (y yamlText) MarshalText() ([]byte, error) { return y, nil }

// RebateOrderView is a rebate order as operators see it: in the answer of a
// retry and in the user lookup (users/{userId}).
type RebateOrderView struct {
	OrderID       string `json:"orderId"`
	Behavior      string `json:"behaviorType"`
	Type          string `json:"rebateType"`
	Config        string `json:"rebateConfig"`
	OutBusinessNo string `json:"outBusinessNo"`
	BizID         string `json:"bizId"`
	State         string `json:"state"`
	Time          int64  `json:"time"`
	Attempts      int    `json:"attempts"`
	LastError     string `json:"lastError"`
}

// retryRebate redelivers a user's rebate order now: a failed or undelivered
// order is reset (no reconcile attempts counted) and granted; a completed one
// is answered as it is. The answer is the order after the attempt.
func (s *Server) retryRebate(r *http.Request) (any, error) {
	user, order, err := retryPath(r)
	if err != nil {
		return nil, err
	}
	o, err := s.deps.Ops.RetryRebate(r.Context(), user, order)
	if errors.Is(err, rebate.ErrNotFound) {
		return nil, badRequest("no rebate order %q of user %q", order, user)
	}
	if err != nil {
		return nil, err
	}
	if err := s.audit(r, ActionRebateRetry, user, "rebate order %s (%s) retried: %s", order, o.Behavior, o.State); err != nil {
		return nil, err
	}
	return NewRebateOrderView(o), nil
}

// NewRebateOrderView returns o as operators see it.
func NewRebateOrderView(o rebate.Order) RebateOrderView {
	return RebateOrderView{o.OrderID, o.Behavior, string(o.Type), o.Config, o.OutBusinessNo, o.BizID, string(o.State),
		o.Time.UnixMilli(), o.Attempts, o.LastError}
}
