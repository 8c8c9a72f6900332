package loadtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// lagMetric is the server's histogram of the time from a draw to its award's
// delivery (seconds); its _count is the number of awards delivered.
const lagMetric = "bigmarket_award_delivery_lag_seconds"

// deliveryPoll is how often the metrics are read while waiting for deliveries.
const deliveryPoll = 200 * time.Millisecond

// errNoLagMetric reports a metrics page without the delivery lag histogram (a
// server that does not export it).
var errNoLagMetric = errors.New("no " + lagMetric + " histogram in the metrics")

// Delivery is what the run saw of award delivery, from the server's delivery
// lag histogram read before the run and until every award was delivered.
type Delivery struct {
	// Wanted is the number of successful draws of the run: each wrote one award
	// to deliver.
	Wanted int
	// Delivered counts the deliveries the server made since the run started
	// (draws of other clients meanwhile count too).
	Delivered int64
	// Complete reports whether Delivered reached Wanted within the wait.
	Complete bool
	// Waited is the time from the end of the run until Delivered reached
	// Wanted, or the whole wait when it did not.
	Waited time.Duration
	// P50 and P99 are the delivery lag percentiles of the deliveries counted
	// (time from the draw to the delivery), interpolated within the server's
	// histogram buckets; Over is set when a percentile lies past the last
	// finite bucket (the value is then that bucket's bound).
	P50, P99 time.Duration
	Over     bool
}

// lagSnapshot is the delivery lag histogram at one moment: cumulative counts by
// upper bound (+Inf included as math.Inf(1)) and the total count.
type lagSnapshot struct {
	buckets map[float64]float64
	count   float64
}

// readLag reads the delivery lag histogram from the server's metrics page.
func (r *runner) readLag(ctx context.Context) (lagSnapshot, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.cfg.MetricsURL, nil)
	if err != nil {
		return lagSnapshot{}, fmt.Errorf("read metrics: %w", err)
	}
	if r.cfg.AdminToken != "" {
		req.Header.Set("Authorization", "Bearer "+r.cfg.AdminToken)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return lagSnapshot{}, fmt.Errorf("read metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return lagSnapshot{}, fmt.Errorf("read metrics %s: HTTP %d", r.cfg.MetricsURL, resp.StatusCode)
	}
	return parseLag(resp.Body)
}

// parseLag reads the lag histogram's bucket and count samples from a
// Prometheus text exposition.
func parseLag(rd io.Reader) (lagSnapshot, error) {
	s := lagSnapshot{buckets: map[float64]float64{}}
	found := false
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, lagMetric+"_") {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			continue
		}
		switch {
		case name == lagMetric+"_count":
			s.count, found = v, true
		case strings.HasPrefix(name, lagMetric+`_bucket{le="`):
			le := strings.TrimSuffix(strings.TrimPrefix(name, lagMetric+`_bucket{le="`), `"}`)
			bound, err := strconv.ParseFloat(le, 64) // "+Inf" parses as +Inf
			if err != nil {
				continue
			}
			s.buckets[bound] = v
		}
	}
	if err := sc.Err(); err != nil {
		return lagSnapshot{}, fmt.Errorf("read metrics: %w", err)
	}
	if !found {
		return lagSnapshot{}, errNoLagMetric
	}
	return s, nil
}

// quantile returns the q-quantile of the observations made between before
// and after, interpolated linearly within its bucket, and whether it lies in
// the +Inf bucket (then the last finite bound is returned).
func quantile(before, after lagSnapshot, q float64) (time.Duration, bool) {
	bounds := slices.Sorted(func(yield func(float64) bool) {
		for b := range after.buckets {
			if !yield(b) {
				return
			}
		}
	})
	total := after.count - before.count
	if total <= 0 || len(bounds) == 0 {
		return 0, false
	}
	target := q * total
	lower, prev := 0.0, 0.0
	for _, b := range bounds {
		cum := after.buckets[b] - before.buckets[b]
		if cum >= target && cum > prev {
			if math.IsInf(b, 1) {
				return seconds(lower), true
			}
			return seconds(lower + (b-lower)*(target-prev)/(cum-prev)), false
		}
		if !math.IsInf(b, 1) {
			lower = b
		}
		prev = cum
	}
	return seconds(lower), true
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// awaitDelivery reads the lag histogram until the deliveries since before
// reach wanted or the wait ends, and reports them.
func (r *runner) awaitDelivery(ctx context.Context, before lagSnapshot, wanted int) (*Delivery, error) {
	start := time.Now()
	deadline := start.Add(r.cfg.DeliveryWait)
	for {
		after, err := r.readLag(ctx)
		if err != nil {
			return nil, err
		}
		d := &Delivery{Wanted: wanted, Delivered: int64(after.count - before.count), Waited: time.Since(start)}
		d.Complete = d.Delivered >= int64(wanted)
		if d.Complete || !time.Now().Before(deadline) {
			var over50, over99 bool
			d.P50, over50 = quantile(before, after, 0.50)
			d.P99, over99 = quantile(before, after, 0.99)
			d.Over = over50 || over99
			return d, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(deliveryPoll):
		}
	}
}
