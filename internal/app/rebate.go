package app

import (
	"context"
	"fmt"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/catalog"
	"github.com/bigmarket/bigmarket/internal/exchange"
	"github.com/bigmarket/bigmarket/internal/httpapi"
	"github.com/bigmarket/bigmarket/internal/rebate"
)

// rebateService adapts rebate.Service to the HTTP layer.
type rebateService struct{ svc *rebate.Service }

func (r rebateService) SignIn(ctx context.Context, userID string) error {
	_, err := r.svc.SignIn(ctx, userID)
	return err
}

func (r rebateService) IsSignedIn(ctx context.Context, userID string) (bool, error) {
	return r.svc.IsSignedIn(ctx, userID)
}

func (r rebateService) Rebate(ctx context.Context, userID, behavior, outBusinessNo string) error {
	_, err := r.svc.Rebate(ctx, userID, behavior, outBusinessNo)
	return err
}

// skuOrderer gives rebate delivery free quota orders of a configured SKU.
type skuOrderer struct {
	catalog  *catalog.Catalog
	activity *activity.Service
}

func (s skuOrderer) CreateSKUOrder(ctx context.Context, userID string, sku int64, outBusinessNo string) error {
	snap := s.catalog.Current()
	k, ok := snap.SKUs[sku]
	if !ok {
		return fmt.Errorf("rebate sku[%d]: %w", sku, activity.ErrUnknownSKU)
	}
	c, ok := snap.Counts[k.CountID]
	if !ok {
		return fmt.Errorf("rebate sku[%d] count[%d]: %w", sku, k.CountID, activity.ErrUnknownSKU)
	}
	act, ok := snap.Activities[k.ActivityID]
	if !ok {
		return fmt.Errorf("rebate sku[%d] activity[%d]: %w", sku, k.ActivityID, activity.ErrUnknownActivity)
	}
	_, err := s.activity.CreateSKUOrder(ctx, activity.SKUOrderRequest{
		UserID: userID, SKU: sku, OutBusinessNo: outBusinessNo, Trade: activity.TradeRebate,
	}, k, act, c)
	return err
}

func rebateOrderViews(orders []rebate.Order, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	out := make([]httpapi.RebateOrderView, 0, len(orders))
	for _, o := range orders {
		out = append(out, httpapi.NewRebateOrderView(o))
	}
	return out, nil
}

// exchangeService adapts exchange.Service to the HTTP layer.
type exchangeService struct{ svc *exchange.Service }

func (e exchangeService) Exchange(ctx context.Context, userID string, sku int64) error {
	_, err := e.svc.Exchange(ctx, userID, sku)
	return err
}
