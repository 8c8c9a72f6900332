package app

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/catalog"
	"github.com/bigmarket/bigmarket/internal/httpapi"
	"github.com/bigmarket/bigmarket/internal/money"
	"github.com/bigmarket/bigmarket/internal/platform/tally"
	"github.com/bigmarket/bigmarket/internal/store/auditdb"
	"github.com/bigmarket/bigmarket/internal/store/statsdb"
	"github.com/bigmarket/bigmarket/internal/strategy"
)

// auditLog serves httpapi.AuditLog from the admin_audit table.
type auditLog struct {
	store *auditdb.Store
	now   func() time.Time
}

var _ httpapi.AuditLog = auditLog{}

// Record implements httpapi.AuditLog.
func (l auditLog) Record(ctx context.Context, e httpapi.AuditEntry) error {
	return l.store.Record(ctx, auditdb.Entry{Time: l.now(), Actor: e.Actor, Action: e.Action, Target: e.Target, Summary: e.Summary})
}

// List implements httpapi.AuditLog.
func (l auditLog) List(ctx context.Context, limit int, before int64) ([]httpapi.AuditEntry, error) {
	es, err := l.store.List(ctx, limit, before)
	if err != nil {
		return nil, err
	}
	out := make([]httpapi.AuditEntry, 0, len(es))
	for _, e := range es {
		out = append(out, auditEntry(e))
	}
	return out, nil
}

// Latest implements httpapi.AuditLog.
func (l auditLog) Latest(ctx context.Context, action, target string) (httpapi.AuditEntry, bool, error) {
	e, ok, err := l.store.Latest(ctx, action, target)
	return auditEntry(e), ok, err
}

func auditEntry(e auditdb.Entry) httpapi.AuditEntry {
	return httpapi.AuditEntry{ID: e.ID, Time: e.Time, Actor: e.Actor, Action: e.Action, Target: e.Target, Summary: e.Summary}
}

// statsService computes the console's statistics: durable figures from every
// shard table (statsdb), stock from the live counters as the draw sees them.
type statsService struct {
	catalog  *catalog.Catalog
	engine   *strategy.Engine
	stats    *statsdb.Store
	activity *activity.Service
	// codes holds the draw answers per minute and code (shared by the
	// fleet).
	codes tally.Store
	now   func() time.Time
}

var _ httpapi.ConsoleService = statsService{}

// Stats implements httpapi.ConsoleService.
func (s statsService) Stats(ctx context.Context) (httpapi.Stats, error) {
	snap := s.catalog.Current()
	loc := snap.Location
	if loc == nil {
		loc = time.Local
	}
	now := s.now().In(loc)
	y, m, d := now.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, loc)
	st, err := s.stats.Compute(ctx, statsdb.Window{Since: now.Add(-time.Hour).Truncate(time.Minute), DayStart: day, ExcludeUser: award.SystemUser})
	if err != nil {
		return httpapi.Stats{}, err
	}
	out := httpapi.Stats{
		Time: now.UnixMilli(), TimeZone: loc.String(), DayStart: day.UnixMilli(),
		DrawsPerMinute: make([]httpapi.MinuteDraws, 0, len(st.DrawsPerMinute)),
		AwardsToday:    make(map[string]int64, len(st.AwardsToday)),
		AwardStock:     []httpapi.AwardStock{}, SKUStock: []httpapi.SKUStock{},
		Outbox: st.Outbox, DeliveryFailures: st.DeliveryFailures,
		Funnel:        httpapi.Funnel(st.Funnel),
		CreditsIssued: money.FromCents(st.CreditsIssued), CreditsSpent: money.FromCents(st.CreditsSpent),
	}
	for _, md := range st.DrawsPerMinute {
		out.DrawsPerMinute = append(out.DrawsPerMinute, httpapi.MinuteDraws{Minute: md.Minute.UnixMilli(), AwardID: md.AwardID, Count: md.Count})
	}
	if out.DrawCodes, out.DrawsPerSecond, err = s.drawCodes(ctx, now); err != nil {
		return httpapi.Stats{}, err
	}
	for id, n := range st.AwardsToday {
		out.AwardsToday[strconv.FormatInt(id, 10)] = n
	}
	if out.AwardStock, err = s.awardStock(ctx); err != nil {
		return httpapi.Stats{}, err
	}
	if out.SKUStock, err = s.skuStock(ctx); err != nil {
		return httpapi.Stats{}, err
	}
	return out, nil
}

// drawCodes reads the draw answers per minute and code of the last hour
// (the same minutes as DrawsPerMinute) and the rate per second of the last
// full minute.
func (s statsService) drawCodes(ctx context.Context, now time.Time) ([]httpapi.MinuteCodes, map[string]float64, error) {
	to := tally.MinuteOf(now)
	bs, err := s.codes.Read(ctx, to-60, to)
	if err != nil {
		return nil, nil, fmt.Errorf("stats: draw answers by code: %w", err)
	}
	out := make([]httpapi.MinuteCodes, 0, len(bs))
	perSecond := map[string]float64{}
	for _, b := range bs {
		out = append(out, httpapi.MinuteCodes{Minute: b.Minute * 60_000, Counts: b.Counts})
		if b.Minute == to-1 {
			for code, n := range b.Counts {
				perSecond[code] = math.Round(float64(n)*100/60) / 100
			}
		}
	}
	return out, perSecond, nil
}

// awardStock lists every award of every strategy in force with its stock.
func (s statsService) awardStock(ctx context.Context) ([]httpapi.AwardStock, error) {
	out := []httpapi.AwardStock{}
	for _, st := range s.catalog.Current().Campaign.Strategies {
		for _, a := range st.Awards {
			left, err := s.engine.Left(ctx, st.ID, a.AwardID)
			if err != nil {
				return nil, fmt.Errorf("stats: stock of strategy[%d] award[%d]: %w", st.ID, a.AwardID, err)
			}
			out = append(out, awardStock(st.ID, a, left))
		}
	}
	return out, nil
}

func awardStock(strategyID int64, a strategy.Award, left int64) httpapi.AwardStock {
	return httpapi.AwardStock{StrategyID: strategyID, AwardID: a.AwardID, AwardTitle: a.Title, Rate: a.Rate.String(), Count: a.Count, Taken: a.Count - left, Left: left}
}

// Activities implements httpapi.ConsoleService: every activity in force in id
// order, its SKUs with their stock left and its strategy's awards with theirs.
func (s statsService) Activities(ctx context.Context) ([]httpapi.ActivityStock, error) {
	snap := s.catalog.Current()
	ids := make([]int64, 0, len(snap.Activities))
	for id := range snap.Activities {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]httpapi.ActivityStock, 0, len(ids))
	for _, id := range ids {
		act := snap.Activities[id]
		v := httpapi.ActivityStock{ActivityID: id, Name: act.Name, Desc: act.Desc, State: string(act.State),
			Begin: act.Begin.UnixMilli(), End: act.End.UnixMilli(), StrategyID: act.StrategyID,
			SKUs: []httpapi.SKUDetail{}, Awards: []httpapi.AwardStock{}}
		for _, sku := range snap.SKUsByActivity[id] {
			left, err := s.activity.SKUStockLeft(ctx, sku)
			if err != nil {
				return nil, fmt.Errorf("activities: stock of sku[%d]: %w", sku.SKU, err)
			}
			n := snap.Counts[sku.CountID]
			v.SKUs = append(v.SKUs, httpapi.SKUDetail{SKU: sku.SKU, CountID: sku.CountID, Total: n.Total, Day: n.Day, Month: n.Month,
				Price: sku.Price, Stock: sku.Stock, Left: left})
		}
		if st, ok := snap.Strategies[act.StrategyID]; ok {
			for _, a := range st.Awards {
				left, err := s.engine.Left(ctx, st.ID, a.AwardID)
				if err != nil {
					return nil, fmt.Errorf("activities: stock of strategy[%d] award[%d]: %w", st.ID, a.AwardID, err)
				}
				v.Awards = append(v.Awards, awardStock(st.ID, a, left))
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// skuStock lists every SKU in force with its stock left.
func (s statsService) skuStock(ctx context.Context) ([]httpapi.SKUStock, error) {
	snap := s.catalog.Current()
	ids := make([]int64, 0, len(snap.SKUs))
	for id := range snap.SKUs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]httpapi.SKUStock, 0, len(ids))
	for _, id := range ids {
		sku := snap.SKUs[id]
		left, err := s.activity.SKUStockLeft(ctx, sku)
		if err != nil {
			return nil, fmt.Errorf("stats: stock of sku[%d]: %w", id, err)
		}
		out = append(out, httpapi.SKUStock{SKU: id, ActivityID: sku.ActivityID, Stock: sku.Stock, Left: left})
	}
	return out, nil
}
