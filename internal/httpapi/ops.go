package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/credit"
	"github.com/bigmarket/bigmarket/internal/money"
	"github.com/bigmarket/bigmarket/internal/outbox"
	"github.com/bigmarket/bigmarket/internal/rebate"
)

// OpsService is what the operator endpoints (erp and admin) need.
type OpsService interface {
	RecentRaffleOrders(ctx context.Context, limit int) ([]activity.RaffleOrder, error)
	Stages(ctx context.Context) []activity.Stage
	ActivateStage(ctx context.Context, id int64) error
	GrantQuota(ctx context.Context, g activity.Grant) error
	// User returns userID's data, each list its newest limit entries.
	User(ctx context.Context, userID string, limit int) (UserData, error)
	// Tasks lists the outbox tasks q selects (see outbox.ListQuery).
	Tasks(ctx context.Context, q outbox.ListQuery) ([]outbox.Task, error)
	RetryTask(ctx context.Context, messageID string) (outbox.Task, error)
	// RetryFailedTasks resets up to q.Limit failed tasks of q's topic and user
	// and publishes them now; it returns the tasks retried.
	RetryFailedTasks(ctx context.Context, q outbox.ListQuery) ([]outbox.Task, error)
	// RetryAward redelivers userID's award record orderID now (see the admin
	// endpoint users/{userId}/awards/{orderId}/retry) and returns it as it is
	// after the attempt; an error wrapping award.ErrRecordNotFound when none.
	RetryAward(ctx context.Context, userID, orderID string) (award.Record, error)
	// RetryRebate redelivers userID's rebate order orderID now (see the admin
	// endpoint users/{userId}/rebates/{orderId}/retry) and returns it as it is
	// after the attempt; an error wrapping rebate.ErrNotFound when none.
	RetryRebate(ctx context.Context, userID, orderID string) (rebate.Order, error)
	Stock(ctx context.Context) ([]StockRow, error)
}

// UserData is everything an operator sees of one user.
type UserData struct {
	Accounts     map[int64]activity.Account
	RaffleOrders []activity.RaffleOrder
	QuotaOrders  []activity.QuotaOrder
	AwardRecords []award.Record
	Balance      money.Amount
	Ledger       []credit.Order
	// Extra holds further per-user sections (e.g. rebate orders) by name.
	Extra map[string]any
}

// StockRow is one award's stock: configured count, units taken by the live
// counter, and award records that took stock (the durable count).
type StockRow struct {
	StrategyID int64 `json:"strategyId"`
	AwardID    int64 `json:"awardId"`
	Count      int64 `json:"count"`
	Taken      int64 `json:"taken"`
	Recorded   int64 `json:"recorded"`
}

func (s *Server) opsRoutes() {
	if s.deps.Ops == nil {
		return
	}
	s.adminRoute(http.MethodGet, v1+"erp/query_user_raffle_order", s.erpRaffleOrders)
	s.adminRoute(http.MethodGet, v1+"erp/query_raffle_activity_stage_list", s.erpStages)
	s.adminRoute(http.MethodPost, v1+"erp/update_stage_activity_2_active", s.erpActivateStage)
	s.adminRoute(http.MethodPost, admin+"quota/grant", s.grantQuota)
	s.adminRoute(http.MethodGet, admin+"users/{userId}", s.userLookup)
	s.adminRoute(http.MethodGet, admin+"tasks", s.tasks)
	s.adminRoute(http.MethodPost, admin+"tasks/{id}/retry", s.retryTask)
	s.adminRoute(http.MethodPost, admin+"tasks/retry_failed", s.retryFailedTasks)
	s.adminRoute(http.MethodGet, admin+"stock", func(r *http.Request) (any, error) { return s.deps.Ops.Stock(r.Context()) })
}

// limitParam reads ?limit= (default 50, at most 1000).
func limitParam(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return 50, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 || n > 1000 {
		return 0, badRequest("limit %q: want 1…1000", v)
	}
	return n, nil
}

type raffleOrderView struct {
	UserID       string `json:"userId"`
	ActivityID   int64  `json:"activityId"`
	ActivityName string `json:"activityName"`
	StrategyID   int64  `json:"strategyId"`
	OrderID      string `json:"orderId"`
	OrderTime    int64  `json:"orderTime"`
	OrderState   string `json:"orderState"`
}

func raffleOrderViews(orders []activity.RaffleOrder) []raffleOrderView {
	out := make([]raffleOrderView, 0, len(orders))
	for _, o := range orders {
		out = append(out, raffleOrderView{o.UserID, o.ActivityID, o.ActivityName, o.StrategyID, o.OrderID, o.OrderTime.UnixMilli(), string(o.State)})
	}
	return out
}

func (s *Server) erpRaffleOrders(r *http.Request) (any, error) {
	limit, err := limitParam(r)
	if err != nil {
		return nil, err
	}
	orders, err := s.deps.Ops.RecentRaffleOrders(r.Context(), limit)
	if err != nil {
		return nil, err
	}
	return raffleOrderViews(orders), nil
}

type stageView struct {
	ID         int64  `json:"id"`
	Channel    string `json:"channel"`
	Source     string `json:"source"`
	ActivityID int64  `json:"activityId"`
	State      string `json:"state"`
}

func (s *Server) erpStages(r *http.Request) (any, error) {
	out := []stageView{}
	for _, st := range s.deps.Ops.Stages(r.Context()) {
		out = append(out, stageView{st.ID, st.Channel, st.Source, st.ActivityID, string(st.State)})
	}
	return out, nil
}

func (s *Server) erpActivateStage(r *http.Request) (any, error) {
	var req struct {
		ID int64 `json:"id"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := requireID("id", req.ID); err != nil {
		return nil, err
	}
	if err := s.deps.Ops.ActivateStage(r.Context(), req.ID); err != nil {
		return nil, err
	}
	if err := s.audit(r, ActionStageActivate, itoa(req.ID), "stage %d activated", req.ID); err != nil {
		return nil, err
	}
	return true, nil
}

type grantRequest struct {
	ID         string `json:"id"`
	UserID     string `json:"userId"`
	ActivityID int64  `json:"activityId"`
	Total      int64  `json:"total"`
	Day        int64  `json:"day"`
	Month      int64  `json:"month"`
	// Reason says why, for the audit log (optional, at most maxReasonLen
	// bytes, one line).
	Reason string `json:"reason"`
}

func (s *Server) grantQuota(r *http.Request) (any, error) {
	var req grantRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if req.ID == "" || len(req.ID) > 64 {
		return nil, badRequest("id is required (at most 64 bytes): grants are idempotent by id")
	}
	if err := requireUser(req.UserID); err != nil {
		return nil, err
	}
	if err := requireID("activityId", req.ActivityID); err != nil {
		return nil, err
	}
	const maxGrant = 100_000_000
	if req.Total <= 0 || req.Day <= 0 || req.Month <= 0 || req.Total > maxGrant || req.Day > maxGrant || req.Month > maxGrant {
		return nil, badRequest("total, day and month must be between 1 and %d", maxGrant)
	}
	reason, err := grantReason(req.Reason)
	if err != nil {
		return nil, err
	}
	g := activity.Grant{ID: req.ID, UserID: req.UserID, ActivityID: req.ActivityID, Total: req.Total, Day: req.Day, Month: req.Month}
	if err := s.deps.Ops.GrantQuota(r.Context(), g); err != nil {
		return nil, err
	}
	if err := s.audit(r, ActionQuotaGrant, req.UserID, "grant %s: activity %d, total %d, day %d, month %d%s", req.ID, req.ActivityID, req.Total, req.Day, req.Month, reason); err != nil {
		return nil, err
	}
	return true, nil
}

type userView struct {
	UserID       string                     `json:"userId"`
	Accounts     map[string]accountResponse `json:"accounts"`
	RaffleOrders []raffleOrderView          `json:"raffleOrders"`
	QuotaOrders  []quotaOrderView           `json:"quotaOrders"`
	AwardRecords []awardRecordView          `json:"awardRecords"`
	Credit       money.Amount               `json:"credit"`
	Ledger       []creditOrderView          `json:"ledger"`
	Extra        map[string]any             `json:"extra,omitempty"`
}

type quotaOrderView struct {
	OrderID       string       `json:"orderId"`
	SKU           int64        `json:"sku"`
	ActivityID    int64        `json:"activityId"`
	Total         int64        `json:"totalCount"`
	Day           int64        `json:"dayCount"`
	Month         int64        `json:"monthCount"`
	PayAmount     money.Amount `json:"payAmount"`
	State         string       `json:"state"`
	OutBusinessNo string       `json:"outBusinessNo"`
	OrderTime     int64        `json:"orderTime"`
}

type awardRecordView struct {
	OrderID     string `json:"orderId"`
	ActivityID  int64  `json:"activityId"`
	StrategyID  int64  `json:"strategyId"`
	AwardID     int64  `json:"awardId"`
	AwardTitle  string `json:"awardTitle"`
	AwardConfig string `json:"awardConfig"`
	State       string `json:"awardState"`
	Time        int64  `json:"awardTime"`
	// Attempts and LastError tell an operator why a record is not completed.
	Attempts  int    `json:"attempts"`
	LastError string `json:"lastError"`
}

type creditOrderView struct {
	OrderID       string       `json:"orderId"`
	TradeName     string       `json:"tradeName"`
	TradeType     string       `json:"tradeType"`
	Amount        money.Amount `json:"tradeAmount"`
	OutBusinessNo string       `json:"outBusinessNo"`
	Time          int64        `json:"time"`
}

// userLookup answers GET users/{userId}?limit=: everything an operator sees
// of a user, each list its newest limit entries (default 100, at most 1000).
func (s *Server) userLookup(r *http.Request) (any, error) {
	user := r.PathValue("userId")
	if err := requireUser(user); err != nil {
		return nil, err
	}
	limit, err := userListLimit(r)
	if err != nil {
		return nil, err
	}
	d, err := s.deps.Ops.User(r.Context(), user, limit)
	if err != nil {
		return nil, err
	}
	v := userView{UserID: user, Accounts: map[string]accountResponse{}, Credit: d.Balance, Extra: d.Extra,
		RaffleOrders: raffleOrderViews(d.RaffleOrders), QuotaOrders: []quotaOrderView{}, AwardRecords: []awardRecordView{}, Ledger: []creditOrderView{}}
	for id, a := range d.Accounts {
		v.Accounts[strconv.FormatInt(id, 10)] = accountResponse{a.TotalCount, a.TotalSurplus, a.DayCount, a.DaySurplus, a.MonthCount, a.MonthSurplus}
	}
	for _, o := range d.QuotaOrders {
		v.QuotaOrders = append(v.QuotaOrders, quotaOrderView{o.OrderID, o.SKU, o.ActivityID, o.Total, o.Day, o.Month, o.PayAmount, string(o.State), o.OutBusinessNo, o.OrderTime.UnixMilli()})
	}
	for _, a := range d.AwardRecords {
		v.AwardRecords = append(v.AwardRecords, awardRecordViewOf(a))
	}
	for _, o := range d.Ledger {
		v.Ledger = append(v.Ledger, creditOrderView{o.OrderID, o.TradeName, string(o.TradeType), o.Amount, o.OutBusinessNo, o.Time.UnixMilli()})
	}
	return v, nil
}

func (s *Server) retryTask(r *http.Request) (any, error) {
	id := r.PathValue("id")
	if id == "" || len(id) > 64 {
		return nil, badRequest("task id is required")
	}
	t, err := s.deps.Ops.RetryTask(r.Context(), id)
	if errors.Is(err, outbox.ErrNotFound) {
		return nil, badRequest("no task %q", id)
	}
	if err != nil {
		return nil, err
	}
	if err := s.audit(r, ActionTaskRetry, id, "task %s (%s, user %s) retried", id, t.Topic, t.UserID); err != nil {
		return nil, err
	}
	return taskViewOf(t), nil
}
