package httpapi

import (
	"context"
	"net/http"

	"github.com/bigmarket/bigmarket/internal/money"
	"github.com/bigmarket/bigmarket/internal/rebate"
)

// RebateService is what the rebate endpoints need.
type RebateService interface {
	// SignIn records today's sign-in rebate (rebate.ErrDuplicate the second time).
	SignIn(ctx context.Context, userID string) error
	// IsSignedIn reports whether today's sign-in rebate exists.
	IsSignedIn(ctx context.Context, userID string) (bool, error)
	// Rebate records a behaviour rebate for a partner's order.
	Rebate(ctx context.Context, userID, behavior, outBusinessNo string) error
}

func (s *Server) rebateRoutes() {
	if s.deps.Rebate == nil {
		return
	}
	s.userRoute(http.MethodPost, v1+"activity/calendar_sign_rebate", "calendar_sign_rebate_by_token", s.signIn)
	s.userRoute(http.MethodPost, v1+"activity/is_calendar_sign_rebate", "is_calendar_sign_rebate_by_token", s.isSignedIn)
	s.route(http.MethodPost, v1+"rebate", s.partnerRebate)
}

// userParam reads userId from the query or a form body (the original's clients
// send it either way); user, when set, is the authenticated user of a _by_token
// twin and wins.
func userParam(r *http.Request, user string) (string, error) {
	if user != "" {
		return user, nil
	}
	v, err := formParam(r, "userId")
	if err != nil {
		return "", err
	}
	if err := requireUser(v); err != nil {
		return "", err
	}
	return v, nil
}

func (s *Server) signIn(r *http.Request, user string) (any, error) {
	userID, err := userParam(r, user)
	if err != nil {
		return nil, err
	}
	if err := s.deps.Rebate.SignIn(r.Context(), userID); err != nil {
		return nil, err
	}
	return true, nil
}

func (s *Server) isSignedIn(r *http.Request, user string) (any, error) {
	userID, err := userParam(r, user)
	if err != nil {
		return nil, err
	}
	return s.deps.Rebate.IsSignedIn(r.Context(), userID)
}

type partnerRebateRequest struct {
	UserID        string `json:"userId"`
	BehaviorType  string `json:"behaviorType"`
	OutBusinessNo string `json:"outBusinessNo"`
}

// partnerRebate is a partner app's rebate for a paid order. It always needs the
// partner app token, in every auth mode: it grants credits and quota. Behaviour
// sign is refused (0002): the daily sign-in is paid once a day through
// calendar_sign_rebate, never per partner order number (DESIGN §6).
func (s *Server) partnerRebate(r *http.Request) (any, error) {
	if err := s.checkAppAlways(r); err != nil {
		return nil, err
	}
	var req partnerRebateRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := requireUser(req.UserID); err != nil {
		return nil, err
	}
	if req.BehaviorType == "" || req.OutBusinessNo == "" || len(req.BehaviorType) > 64 || len(req.OutBusinessNo) > 64 {
		return nil, badRequest("behaviorType and outBusinessNo are required (at most 64 bytes)")
	}
	if req.BehaviorType == rebate.BehaviorSign {
		// Once a day, keyed by the date: only calendar_sign_rebate knows it.
		return nil, badRequest("behaviorType %q is paid by calendar_sign_rebate only", rebate.BehaviorSign)
	}
	if err := s.deps.Rebate.Rebate(r.Context(), req.UserID, req.BehaviorType, req.OutBusinessNo); err != nil {
		return nil, err
	}
	return true, nil
}

// ExchangeService exchanges credits for a SKU's quota package.
type ExchangeService interface {
	Exchange(ctx context.Context, userID string, sku int64) error
}

func (s *Server) exchangeRoutes() {
	if s.deps.Exchange == nil {
		return
	}
	s.userRoute(http.MethodPost, v1+"activity/credit_pay_exchange_sku", "credit_pay_exchange_sku_by_token", s.exchangeSKU)
}

type exchangeRequest struct {
	UserID string `json:"userId"`
	SKU    int64  `json:"sku"`
}

func (s *Server) exchangeSKU(r *http.Request, user string) (any, error) {
	var req exchangeRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if user != "" {
		req.UserID = user
	}
	if err := requireUser(req.UserID); err != nil {
		return nil, err
	}
	if err := requireID("sku", req.SKU); err != nil {
		return nil, err
	}
	if err := s.deps.Exchange.Exchange(r.Context(), req.UserID, req.SKU); err != nil {
		return nil, err
	}
	return true, nil
}

// CreditService reads credit balances.
type CreditService interface {
	Balance(ctx context.Context, userID string) (money.Amount, error)
}

func (s *Server) creditRoutes() {
	if s.deps.Credit == nil {
		return
	}
	s.userRoute(http.MethodPost, v1+"activity/query_user_credit_account", "query_user_credit_account_by_token", s.creditAccount)
}

// creditAccount answers the available credit (a number with two decimals; 0 for
// a user without an account).
func (s *Server) creditAccount(r *http.Request, user string) (any, error) {
	userID, err := userParam(r, user)
	if err != nil {
		return nil, err
	}
	return s.deps.Credit.Balance(r.Context(), userID)
}
