package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/catalog"
	"github.com/bigmarket/bigmarket/internal/httpapi"
	"github.com/bigmarket/bigmarket/internal/outbox"
	"github.com/bigmarket/bigmarket/internal/rebate"
	"github.com/bigmarket/bigmarket/internal/reconcile"
	"github.com/bigmarket/bigmarket/internal/store/activitydb"
	"github.com/bigmarket/bigmarket/internal/store/awarddb"
	"github.com/bigmarket/bigmarket/internal/store/campaigndb"
	"github.com/bigmarket/bigmarket/internal/store/creditdb"
	"github.com/bigmarket/bigmarket/internal/store/outboxdb"
	"github.com/bigmarket/bigmarket/internal/store/rebatedb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/strategydb"
	"github.com/bigmarket/bigmarket/internal/strategy"
)

// opsService serves the operator endpoints by reading the stores of every
// context; it holds no rules of its own.
type opsService struct {
	db         *sqldb.DB
	catalog    *catalog.Catalog
	engine     *strategy.Engine
	activity   *activity.Service
	activities *activitydb.Store
	records    *awarddb.Store
	credits    *creditdb.Store
	tasks      *outboxdb.Store
	relay      *outbox.Relay
	campaigns  *campaigndb.Store
	// deliverer redelivers award records an operator retries; awardKey gives
	// their delivery key.
	deliverer *award.Deliverer
	awardKey  func(awardID int64) (award.Key, bool)
	// rebates and rebateDeliverer serve an operator's rebate retries.
	rebates         *rebatedb.Store
	rebateDeliverer *rebate.Deliverer
	// extra adds per-user sections from other contexts (rebate orders, …).
	extra map[string]func(ctx context.Context, userID string, limit int) (any, error)
	now   func() time.Time
}

var _ httpapi.OpsService = (*opsService)(nil)

func (o *opsService) RecentRaffleOrders(ctx context.Context, limit int) ([]activity.RaffleOrder, error) {
	return o.activities.RecentRaffleOrders(ctx, limit)
}

func (o *opsService) Stages(context.Context) []activity.Stage { return o.catalog.Current().Stages }

func (o *opsService) ActivateStage(ctx context.Context, id int64) error {
	err := o.campaigns.ActivateStage(ctx, id)
	if errors.Is(err, sqldb.ErrNotFound) {
		return fmt.Errorf("stage[%d]: %w", id, activity.ErrInvalid)
	}
	if err != nil {
		return err
	}
	_, err = o.catalog.Reload(ctx, false)
	return err
}

func (o *opsService) GrantQuota(ctx context.Context, g activity.Grant) error {
	act, ok := o.catalog.Current().Activities[g.ActivityID]
	if !ok {
		return fmt.Errorf("grant[%s] activity[%d]: %w", g.ID, g.ActivityID, activity.ErrUnknownActivity)
	}
	return o.activity.ApplyGrant(ctx, g, act)
}

func (o *opsService) User(ctx context.Context, userID string, limit int) (httpapi.UserData, error) {
	var d httpapi.UserData
	var err error
	day, month := o.activity.Periods(o.now())
	if d.Accounts, err = o.activities.AccountsByUser(ctx, userID, day, month); err != nil {
		return d, err
	}
	if d.RaffleOrders, err = o.activities.RaffleOrdersByUser(ctx, userID, limit); err != nil {
		return d, err
	}
	if d.QuotaOrders, err = o.activities.QuotaOrdersByUser(ctx, userID, limit); err != nil {
		return d, err
	}
	if d.AwardRecords, err = o.records.ListByUser(ctx, userID, limit); err != nil {
		return d, err
	}
	if d.Balance, err = o.credits.Balance(ctx, userID); err != nil {
		return d, err
	}
	if d.Ledger, err = o.credits.Ledger(ctx, userID, limit); err != nil {
		return d, err
	}
	for name, f := range o.extra {
		v, err := f(ctx, userID, limit)
		if err != nil {
			return d, err
		}
		if d.Extra == nil {
			d.Extra = map[string]any{}
		}
		d.Extra[name] = v
	}
	return d, nil
}

func (o *opsService) Tasks(ctx context.Context, q outbox.ListQuery) ([]outbox.Task, error) {
	return o.tasks.Find(ctx, q)
}

// RetryFailedTasks resets up to q.Limit failed tasks that q's topic and user
// select, the most recently failed first, and publishes them at once, as
// RetryTask does for one. It returns the tasks as reset.
func (o *opsService) RetryFailedTasks(ctx context.Context, q outbox.ListQuery) ([]outbox.Task, error) {
	q.State, q.Offset = outbox.StateFail, 0
	failed, err := o.tasks.Find(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]outbox.Task, 0, len(failed))
	for _, f := range failed {
		t, err := o.RetryTask(ctx, f.MessageID)
		if errors.Is(err, outbox.ErrNotFound) {
			continue // purged meanwhile
		}
		if err != nil {
			return out, fmt.Errorf("retry failed tasks: %d of %d retried: %w", len(out), len(failed), err)
		}
		out = append(out, t)
	}
	return out, nil
}

// RetryTask resets a task and publishes it at once.
func (o *opsService) RetryTask(ctx context.Context, id string) (outbox.Task, error) {
	t, err := o.tasks.Reset(ctx, id, o.now())
	if err != nil {
		return outbox.Task{}, err
	}
	o.relay.Enqueue(t)
	return t, nil
}

// RetryAward resets a failed, pending_manual or unfinished award record (no
// reconcile attempts counted) and delivers it now, through the same idempotent
// delivery as send_award; a completed record, or one being delivered, is
// returned as it is. A failed attempt is stored as the record's last error and
// leaves it in create, for the reconciler.
func (o *opsService) RetryAward(ctx context.Context, userID, orderID string) (award.Record, error) {
	rec, err := o.records.Get(ctx, userID, orderID)
	if err != nil {
		return award.Record{}, err
	}
	reset, err := o.records.Reset(ctx, userID, orderID, o.now())
	if err != nil {
		return award.Record{}, err
	}
	if !reset {
		return o.records.Get(ctx, userID, orderID)
	}
	var derr error
	if key, ok := o.awardKey(rec.AwardID); !ok {
		derr = fmt.Errorf("retry award record: award[%d]: %w", rec.AwardID, reconcile.ErrUnknownAward)
	} else {
		_, derr = o.deliverer.Deliver(ctx, award.SendAward{
			UserID: rec.UserID, StrategyID: rec.StrategyID, ActivityID: rec.ActivityID, OrderID: rec.OrderID,
			AwardID: rec.AwardID, AwardTitle: rec.AwardTitle, AwardKey: key, AwardConfig: rec.AwardConfig,
		})
	}
	if derr != nil && !errors.Is(derr, award.ErrConfigNotRange) {
		if err := o.records.NoteError(ctx, userID, orderID, award.TruncateError(derr)); err != nil {
			return award.Record{}, errors.Join(derr, err)
		}
	}
	return o.records.Get(ctx, userID, orderID)
}

// RetryRebate resets a failed or undelivered rebate order (no reconcile
// attempts counted) and grants it now, through the same idempotent delivery as
// send_rebate; a completed order is returned as it is. A failed attempt is
// stored as the order's last error and leaves it in create, for the
// reconciler.
func (o *opsService) RetryRebate(ctx context.Context, userID, orderID string) (rebate.Order, error) {
	ord, err := o.rebates.Get(ctx, userID, orderID)
	if err != nil {
		return rebate.Order{}, err
	}
	reset, err := o.rebates.Reset(ctx, userID, orderID, o.now())
	if err != nil {
		return rebate.Order{}, err
	}
	if !reset {
		return o.rebates.Get(ctx, userID, orderID)
	}
	out, derr := o.rebateDeliverer.Deliver(ctx, rebate.SendRebate{
		UserID: ord.UserID, Behavior: ord.Behavior, Type: ord.Type, Config: ord.Config, BizID: ord.BizID, OrderID: ord.OrderID,
	})
	if out == rebate.OutcomeRejected || out == rebate.OutcomeError {
		if err := o.rebates.NoteError(ctx, userID, orderID, derr.Error()); err != nil {
			return rebate.Order{}, errors.Join(derr, err)
		}
	} else if err := o.rebates.MarkCompleted(ctx, userID, orderID, o.now()); err != nil {
		return rebate.Order{}, err
	}
	return o.rebates.Get(ctx, userID, orderID)
}

// Stock lists every award of every strategy in force with its configured count,
// the units the live counter has taken and the award records that took stock.
func (o *opsService) Stock(ctx context.Context) ([]httpapi.StockRow, error) {
	durable := strategydb.New(o.db)
	var rows []httpapi.StockRow
	for _, st := range o.catalog.Current().Campaign.Strategies {
		for _, a := range st.Awards {
			left, err := o.engine.Left(ctx, st.ID, a.AwardID)
			if err != nil {
				return nil, err
			}
			rec, err := durable.CountTakes(ctx, st.ID, a.AwardID)
			if err != nil {
				return nil, err
			}
			rows = append(rows, httpapi.StockRow{StrategyID: st.ID, AwardID: a.AwardID, Count: a.Count, Taken: a.Count - left, Recorded: rec})
		}
	}
	return rows, nil
}
