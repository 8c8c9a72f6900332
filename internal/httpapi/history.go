package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/credit"
	"github.com/bigmarket/bigmarket/internal/money"
)

// HistoryService reads what a user won and the user's credit ledger, page by
// page, newest first.
type HistoryService interface {
	// AwardRecords returns up to limit of userID's award records on activityID
	// after skipping offset, newest first.
	AwardRecords(ctx context.Context, userID string, activityID int64, offset, limit int) ([]award.Record, error)
	// CreditLedger returns up to limit of userID's credit orders after skipping
	// offset, newest first, each with the balance after it.
	CreditLedger(ctx context.Context, userID string, offset, limit int) ([]LedgerEntry, error)
}

// LedgerEntry is a credit order with the balance after it.
type LedgerEntry struct {
	Order        credit.Order
	BalanceAfter money.Amount
}

// Paging bounds of the history endpoints.
const (
	defaultPageSize = 10
	maxPageSize     = 100
	maxPage         = 10_000
)

func (s *Server) historyRoutes() {
	if s.deps.History == nil {
		return
	}
	s.userRoute(http.MethodPost, v1+"activity/query_user_award_list", "query_user_award_list_by_token", s.userAwardList)
	s.userRoute(http.MethodPost, v1+"activity/query_user_credit_ledger", "query_user_credit_ledger_by_token", s.userCreditLedger)
}

// pageRequest is the body of the history endpoints. ActivityID is used by the
// award list only. An absent page is 1, an absent size 10.
type pageRequest struct {
	UserID     string `json:"userId"`
	ActivityID int64  `json:"activityId"`
	Page       *int64 `json:"page"`
	Size       *int64 `json:"size"`
}

// Page is one page of a list, newest first. HasMore tells whether a next page
// has entries.
type Page[T any] struct {
	Page    int64 `json:"page"`
	Size    int64 `json:"size"`
	HasMore bool  `json:"hasMore"`
	List    []T   `json:"list"`
}

// decodePage reads and checks a history body; user is the authenticated user of
// a _by_token twin.
func decodePage(r *http.Request, user string, needActivity bool) (pageRequest, int64, int64, error) {
	var req pageRequest
	if err := decodeJSON(r, &req); err != nil {
		return req, 0, 0, err
	}
	if user != "" {
		req.UserID = user
	}
	if err := requireUser(req.UserID); err != nil {
		return req, 0, 0, err
	}
	if needActivity {
		if err := requireID("activityId", req.ActivityID); err != nil {
			return req, 0, 0, err
		}
	}
	page, size := int64(1), int64(defaultPageSize)
	if req.Page != nil {
		page = *req.Page
	}
	if req.Size != nil {
		size = *req.Size
	}
	if page < 1 || page > maxPage {
		return req, 0, 0, badRequest("page %d: want 1 to %d", page, maxPage)
	}
	if size < 1 || size > maxPageSize {
		return req, 0, 0, badRequest("size %d: want 1 to %d", size, maxPageSize)
	}
	return req, page, size, nil
}

// userAwardView is one row of query_user_award_list.
type userAwardView struct {
	Time       time.Time    `json:"time"`
	AwardID    int64        `json:"awardId"`
	AwardTitle string       `json:"awardTitle"`
	Amount     money.Amount `json:"amount"`
	// State is create (being delivered), completed (delivered) or
	// pending_manual (needs an operator).
	State   string `json:"state"`
	OrderID string `json:"orderId"`
}

func (s *Server) userAwardList(r *http.Request, user string) (any, error) {
	req, page, size, err := decodePage(r, user, true)
	if err != nil {
		return nil, err
	}
	recs, err := s.deps.History.AwardRecords(r.Context(), req.UserID, req.ActivityID, int((page-1)*size), int(size+1))
	if err != nil {
		return nil, err
	}
	out := Page[userAwardView]{Page: page, Size: size, List: []userAwardView{}}
	for i, rec := range recs {
		if int64(i) == size {
			out.HasMore = true
			break
		}
		out.List = append(out.List, userAwardView{
			Time: rec.Time, AwardID: rec.AwardID, AwardTitle: rec.AwardTitle, Amount: rec.Amount,
			State: string(rec.State), OrderID: rec.OrderID,
		})
	}
	return out, nil
}

// ledgerView is one row of query_user_credit_ledger.
type ledgerView struct {
	Time time.Time `json:"time"`
	// Amount is signed: positive for credits in (forward), negative out.
	Amount       money.Amount `json:"amount"`
	TradeName    string       `json:"tradeName"`
	TradeType    string       `json:"tradeType"`
	BalanceAfter money.Amount `json:"balanceAfter"`
	OrderID      string       `json:"orderId"`
}

func (s *Server) userCreditLedger(r *http.Request, user string) (any, error) {
	req, page, size, err := decodePage(r, user, false)
	if err != nil {
		return nil, err
	}
	entries, err := s.deps.History.CreditLedger(r.Context(), req.UserID, int((page-1)*size), int(size+1))
	if err != nil {
		return nil, err
	}
	out := Page[ledgerView]{Page: page, Size: size, List: []ledgerView{}}
	for i, e := range entries {
		if int64(i) == size {
			out.HasMore = true
			break
		}
		amount := e.Order.Amount
		if e.Order.TradeType == credit.Reverse {
			amount = money.Amount{}.Sub(amount)
		}
		out.List = append(out.List, ledgerView{
			Time: e.Order.Time, Amount: amount, TradeName: e.Order.TradeName, TradeType: string(e.Order.TradeType),
			BalanceAfter: e.BalanceAfter, OrderID: e.Order.OrderID,
		})
	}
	return out, nil
}
