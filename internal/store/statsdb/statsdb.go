// Package statsdb computes the operator console's statistics from the durable
// records of every shard database and table: draws per minute by award, today's
// awards by prize, the outbox by state, delivery failures, today's funnel and
// credits. It reads only; each query is bounded by an index (a time column, a
// state, or the task table's state index), so its cost follows the rows of the
// window asked for, not the size of the tables.
package statsdb

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/bigmarket/bigmarket/internal/store/sqldb"
)

// Window is what the statistics cover.
type Window struct {
	// Since starts the per-minute draws (e.g. an hour ago).
	Since time.Time
	// DayStart is the start of today in the campaign time zone.
	DayStart time.Time
	// ExcludeUser is left out of the funnel (the "system" user of
	// random_raffle, which draws without quota or activity).
	ExcludeUser string
}

// MinuteDraws is how many draws ended in one award within one minute.
type MinuteDraws struct {
	Minute  time.Time
	AwardID int64
	Count   int64
}

// Funnel is today's way from sign-in to delivery, in users' records.
type Funnel struct {
	// SignIns counts users with a sign-in rebate order today.
	SignIns int64
	// Quota counts completed quota orders (draws granted) today.
	Quota int64
	// Draws counts raffle orders today.
	Draws int64
	// Awards counts award records today; Delivered those of them completed.
	Awards    int64
	Delivered int64
}

// Stats are the statistics of one Window, summed over every shard table.
type Stats struct {
	// DrawsPerMinute lists, per minute since Window.Since and award, the award
	// records made (every draw makes one), in time then award order.
	DrawsPerMinute []MinuteDraws
	// AwardsToday counts today's award records per award id.
	AwardsToday map[int64]int64
	// Outbox counts outbox tasks per state.
	Outbox map[string]int64
	// DeliveryFailures counts award records per failed state (failed,
	// pending_manual), whenever made.
	DeliveryFailures map[string]int64
	// Funnel is today's funnel.
	Funnel Funnel
	// CreditsIssued and CreditsSpent sum today's forward and reverse credit
	// orders, in hundredths.
	CreditsIssued, CreditsSpent int64
}

// Store computes Stats on a DB.
type Store struct{ db *sqldb.DB }

// New returns a Store on db.
func New(db *sqldb.DB) *Store { return &Store{db: db} }

const (
	qDrawsPerMinute = `SELECT award_time - (award_time % 60000), award_id, COUNT(*) FROM user_award_record{{suffix}}
		WHERE award_time >= ? GROUP BY award_time - (award_time % 60000), award_id`
	qAwardsToday = `SELECT award_id, COUNT(*) FROM user_award_record{{suffix}} WHERE award_time >= ? GROUP BY award_id`
	qFailures    = `SELECT award_state, COUNT(*) FROM user_award_record{{suffix}}
		WHERE award_state IN ('failed', 'pending_manual') GROUP BY award_state`
	qFunnelAwards = `SELECT COUNT(*), COALESCE(SUM(CASE WHEN award_state = 'completed' THEN 1 ELSE 0 END), 0)
		FROM user_award_record{{suffix}} WHERE award_time >= ? AND user_id <> ?`
	qSignIns = `SELECT COUNT(DISTINCT user_id) FROM user_behavior_rebate_order{{suffix}}
		WHERE create_time >= ? AND behavior_type = 'sign'`
	qQuota   = `SELECT COUNT(*) FROM raffle_activity_order{{suffix}} WHERE order_time >= ? AND state = 'completed'`
	qDraws   = `SELECT COUNT(*) FROM user_raffle_order{{suffix}} WHERE order_time >= ? AND user_id <> ?`
	qCredits = `SELECT trade_type, COALESCE(SUM(trade_amount), 0) FROM user_credit_order{{suffix}}
		WHERE create_time >= ? GROUP BY trade_type`
	qOutbox = `SELECT state, COUNT(*) FROM task GROUP BY state`
)

// Compute reads the statistics of w from every shard database and table.
// Users live in one table each, so per-table counts (distinct users included)
// add up.
func (s *Store) Compute(ctx context.Context, w Window) (Stats, error) {
	st := Stats{AwardsToday: map[int64]int64{}, Outbox: map[string]int64{}, DeliveryFailures: map[string]int64{}}
	since, day := w.Since.UnixMilli(), w.DayStart.UnixMilli()
	perMinute := map[[2]int64]int64{}
	for _, r := range s.db.Routes() {
		db := s.db.Shard(r.Shard).Read()
		fail := func(what string, err error) error {
			return fmt.Errorf("stats %s: shard[%d] table%q: %w", what, r.Shard, r.Suffix, err)
		}
		if err := each(ctx, db, r.SQL(qDrawsPerMinute), []any{since}, func(scan func(...any) error) error {
			var minute, award, n int64
			if err := scan(&minute, &award, &n); err != nil {
				return err
			}
			perMinute[[2]int64{minute, award}] += n
			return nil
		}); err != nil {
			return Stats{}, fail("draws per minute", err)
		}
		if err := each(ctx, db, r.SQL(qAwardsToday), []any{day}, func(scan func(...any) error) error {
			var award, n int64
			if err := scan(&award, &n); err != nil {
				return err
			}
			st.AwardsToday[award] += n
			return nil
		}); err != nil {
			return Stats{}, fail("awards today", err)
		}
		if err := each(ctx, db, r.SQL(qFailures), nil, func(scan func(...any) error) error {
			var state string
			var n int64
			if err := scan(&state, &n); err != nil {
				return err
			}
			st.DeliveryFailures[state] += n
			return nil
		}); err != nil {
			return Stats{}, fail("delivery failures", err)
		}
		var awards, delivered, signIns, quota, draws int64
		if err := db.QueryRowContext(ctx, r.SQL(qFunnelAwards), day, w.ExcludeUser).Scan(&awards, &delivered); err != nil {
			return Stats{}, fail("funnel awards", err)
		}
		if err := db.QueryRowContext(ctx, r.SQL(qSignIns), day).Scan(&signIns); err != nil {
			return Stats{}, fail("funnel sign-ins", err)
		}
		if err := db.QueryRowContext(ctx, r.SQL(qQuota), day).Scan(&quota); err != nil {
			return Stats{}, fail("funnel quota", err)
		}
		if err := db.QueryRowContext(ctx, r.SQL(qDraws), day, w.ExcludeUser).Scan(&draws); err != nil {
			return Stats{}, fail("funnel draws", err)
		}
		st.Funnel.Awards += awards
		st.Funnel.Delivered += delivered
		st.Funnel.SignIns += signIns
		st.Funnel.Quota += quota
		st.Funnel.Draws += draws
		if err := each(ctx, db, r.SQL(qCredits), []any{day}, func(scan func(...any) error) error {
			var typ string
			var sum int64
			if err := scan(&typ, &sum); err != nil {
				return err
			}
			switch typ {
			case "forward":
				st.CreditsIssued += sum
			case "reverse":
				st.CreditsSpent += sum
			}
			return nil
		}); err != nil {
			return Stats{}, fail("credits", err)
		}
	}
	for shard := range s.db.Shards() {
		if err := each(ctx, s.db.Shard(shard).Read(), qOutbox, nil, func(scan func(...any) error) error {
			var state string
			var n int64
			if err := scan(&state, &n); err != nil {
				return err
			}
			st.Outbox[state] += n
			return nil
		}); err != nil {
			return Stats{}, fmt.Errorf("stats outbox: shard[%d]: %w", shard, err)
		}
	}
	st.DrawsPerMinute = make([]MinuteDraws, 0, len(perMinute))
	for k, n := range perMinute {
		st.DrawsPerMinute = append(st.DrawsPerMinute, MinuteDraws{Minute: time.UnixMilli(k[0]), AwardID: k[1], Count: n})
	}
	sortMinutes(st.DrawsPerMinute)
	return st, nil
}

// each runs query on db and calls row for every row with the row's Scan.
func each(ctx context.Context, db *sql.DB, query string, args []any, row func(scan func(...any) error) error) error {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// sortMinutes orders draws by minute, then award.
func sortMinutes(ds []MinuteDraws) {
	slices.SortFunc(ds, func(a, b MinuteDraws) int {
		if c := a.Minute.Compare(b.Minute); c != 0 {
			return c
		}
		return cmp.Compare(a.AwardID, b.AwardID)
	})
}
