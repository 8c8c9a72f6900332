// Package loadtest drives activity/draw over HTTP for many users at a chosen
// concurrency and duration: it grants every user enough quota through the admin
// API, assembles the activity once, then measures throughput, latency percentiles,
// the answer codes seen and the awards won, and afterwards checks the stock
// invariant (no award recorded or taken past its configured count) through the admin
// API. It is the engine of `bigmarket loadtest` and uses only the standard library.
package loadtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Errors returned by Run.
var (
	// ErrInvalidConfig is returned when a Config field is out of range.
	ErrInvalidConfig = errors.New("loadtest: invalid config")
	// ErrUnexpectedAnswer is returned when a setup or check call (quota grant,
	// armory, stock) does not answer HTTP 200 with code "0000".
	ErrUnexpectedAnswer = errors.New("loadtest: unexpected answer")
	// ErrStockInvariant is returned when, after the run, an award has more records
	// or a larger taken counter than its configured stock.
	ErrStockInvariant = errors.New("loadtest: stock invariant violated")
)

// Defaults applied by Run to zero Config fields.
const (
	DefaultActivityID  = 100301
	DefaultUsers       = 1000
	DefaultConcurrency = 64
	DefaultDuration    = 10 * time.Second
	DefaultGrantQuota  = 1_000_000
	DefaultSettle      = time.Second
	// DefaultDeliveryWait bounds the wait for every award to be delivered.
	DefaultDeliveryWait = time.Minute
	// MaxConcurrency bounds Config.Concurrency (each worker owns a 34 KiB histogram).
	MaxConcurrency = 4096
	// maxUserIDLen is the server's bound on user ids.
	maxUserIDLen = 64
	// requestTimeout bounds one request of the default client.
	requestTimeout = 30 * time.Second
)

// API paths, relative to Config.BaseURL.
const (
	pathGrant   = "/api/admin/v1/quota/grant"
	pathStock   = "/api/admin/v1/stock"
	pathArmory  = "/api/v1/raffle/activity/armory"
	pathDraw    = "/api/v1/raffle/activity/draw"
	codeSuccess = "0000"
)

// Config describes one load run. The zero value of every field but BaseURL (and
// AdminToken, when quota is granted or stock checked) is a valid choice.
type Config struct {
	// BaseURL is the server's scheme, host and port, e.g. http://127.0.0.1:8091.
	// Required.
	BaseURL string
	// ActivityID is the activity drawn; zero means 100301 (the demo activity).
	ActivityID int64
	// Users is the number of distinct user ids; zero means 1000.
	Users int
	// UserPrefix starts every user id (the user's index follows); empty means
	// "load-" plus a random run tag and "-", so runs never collide.
	UserPrefix string
	// Concurrency is the number of workers sending requests at once; zero means 64.
	Concurrency int
	// Duration bounds the run's time. Zero means 10s when Requests is zero, and no
	// time bound when Requests is set.
	Duration time.Duration
	// Requests caps the total number of draw requests; zero means no cap.
	Requests int
	// AdminToken is the admin bearer token, required unless GrantQuota is negative
	// and CheckStock is false.
	AdminToken string
	// GrantQuota is the number of draws (total, day and month) granted to each user
	// before the run through the admin API; zero means 1 000 000, negative means no
	// grant (the users already have quota).
	GrantQuota int64
	// CheckStock checks the stock invariant through the admin API after the run.
	CheckStock bool
	// Settle is how long to wait after the run before checking stock, so that
	// in-flight work lands; zero means 1s, negative means no wait.
	Settle time.Duration
	// DeliveryWait bounds how long Run waits after the draws for every
	// successful draw's award to be delivered, watching the server's delivery
	// lag histogram (bigmarket_award_delivery_lag_seconds on MetricsURL); zero
	// means 1 minute, negative means no delivery measurement.
	DeliveryWait time.Duration
	// MetricsURL is the server's Prometheus metrics page (read with the admin
	// token when one is set); empty means BaseURL + "/metrics".
	MetricsURL string
	// Client sends every request; nil means a client tuned for the run (keep-alive,
	// Concurrency idle connections per host, no compression, 30s request timeout).
	Client *http.Client
}

// withDefaults validates c and fills zero fields.
func (c Config) withDefaults() (Config, error) {
	bad := func(format string, args ...any) (Config, error) {
		return Config{}, fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
	}
	u, err := url.Parse(c.BaseURL)
	switch {
	case c.BaseURL == "":
		return bad("base URL is required")
	case err != nil:
		return bad("base URL %q: %v", c.BaseURL, err)
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return bad("base URL %q: want http(s)://host[:port]", c.BaseURL)
	case u.RawQuery != "" || u.Fragment != "":
		return bad("base URL %q: must not have a query or fragment", c.BaseURL)
	case c.ActivityID < 0:
		return bad("activity id %d is negative", c.ActivityID)
	case c.Users < 0:
		return bad("users %d is negative", c.Users)
	case c.Concurrency < 0 || c.Concurrency > MaxConcurrency:
		return bad("concurrency %d: want 0 (default) to %d", c.Concurrency, MaxConcurrency)
	case c.Duration < 0:
		return bad("duration %s is negative", c.Duration)
	case c.Requests < 0:
		return bad("requests %d is negative", c.Requests)
	case c.AdminToken == "" && (c.GrantQuota >= 0 || c.CheckStock):
		return bad("admin token is required to grant quota or check stock")
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.ActivityID == 0 {
		c.ActivityID = DefaultActivityID
	}
	if c.Users == 0 {
		c.Users = DefaultUsers
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Duration == 0 && c.Requests == 0 {
		c.Duration = DefaultDuration
	}
	if c.GrantQuota == 0 {
		c.GrantQuota = DefaultGrantQuota
	}
	if c.Settle == 0 {
		c.Settle = DefaultSettle
	}
	if c.DeliveryWait == 0 {
		c.DeliveryWait = DefaultDeliveryWait
	}
	if c.MetricsURL == "" {
		c.MetricsURL = c.BaseURL + "/metrics"
	}
	if c.UserPrefix == "" {
		c.UserPrefix = "load-" + runTag() + "-"
	}
	if n := len(c.UserPrefix) + len(strconv.Itoa(c.Users-1)); n > maxUserIDLen {
		return bad("user prefix %q: user ids would be %d bytes, the server allows %d", c.UserPrefix, n, maxUserIDLen)
	}
	return c, nil
}

// runTag returns 8 random characters that tell this run's users and grants apart.
func runTag() string {
	return strings.ToLower(rand.Text()[:8])
}

// Report is what one run measured. Requests = Errors + the sum of Codes.
type Report struct {
	// Requests counts draw requests that completed (answered or failed in
	// transport); requests aborted by cancelling the run's context are not counted.
	Requests int
	// Errors counts transport errors: no answer, or the answer body unreadable.
	Errors int
	// Codes counts answers by envelope code ("0000", "ERR_BIZ_006", …). Answers
	// with an HTTP status other than 200 count as "HTTP <status> <code>", bodies
	// without an envelope as "HTTP <status> no envelope".
	Codes map[string]int
	// Elapsed is the time from the first draw request to the last answer.
	Elapsed time.Duration
	// Throughput is the rate of successful draws and of all requests.
	Throughput Throughput
	// P50, P95, P99 and Max are latency percentiles of the answered requests,
	// accurate to within 1 %.
	P50, P95, P99, Max time.Duration
	// Awards counts successful draws by award id.
	Awards map[int64]int
	// MissingAward counts successful answers without a valid award (a server bug:
	// a draw must always return an award).
	MissingAward int
	// StockCheck is the stock invariant check; nil when it was not run.
	StockCheck *StockCheck
	// Delivery is what the run saw of award delivery; nil when it was not
	// measured (DeliveryWait negative, or the server exports no delivery lag:
	// DeliveryNote says why).
	Delivery     *Delivery
	DeliveryNote string
}

// Throughput is a rate per second over Report.Elapsed.
type Throughput struct {
	// Draws is successful draws (code "0000") per second.
	Draws float64
	// Requests is all completed requests per second.
	Requests float64
}

// StockCheck is the result of comparing every award's configured stock with its
// live counter and the award records that took stock.
type StockCheck struct {
	// Rows is the server's answer, one row per strategy award.
	Rows []StockRow
	// Violations describes each broken bound; empty when the check passed.
	Violations []string
}

// Passed reports whether no award broke the invariant.
func (s *StockCheck) Passed() bool { return len(s.Violations) == 0 }

// StockRow is one award's stock as the admin stock endpoint reports it.
type StockRow struct {
	StrategyID int64 `json:"strategyId"`
	AwardID    int64 `json:"awardId"`
	// Count is the configured stock.
	Count int64 `json:"count"`
	// Taken is the live counter of units taken.
	Taken int64 `json:"taken"`
	// Recorded is the number of award records that took stock.
	Recorded int64 `json:"recorded"`
}

// Run grants quota to cfg.Users users (unless cfg.GrantQuota is negative), assembles
// the activity, drives activity/draw from cfg.Concurrency workers until
// cfg.Duration has passed or cfg.Requests requests were sent, optionally checks the
// stock invariant, and prints the report to out (nil means no output).
//
// It returns ErrInvalidConfig for a bad cfg; ErrUnexpectedAnswer (wrapped with the
// call) when a grant, the armory or the stock call fails, a transport error
// likewise; the partial report and the context's error when ctx ends during the
// run; the report and ErrStockInvariant (wrapped with the violations) when the stock
// check fails.
func Run(ctx context.Context, cfg Config, out io.Writer) (Report, error) {
	if out == nil {
		out = io.Discard
	}
	c, err := cfg.withDefaults()
	if err != nil {
		return Report{}, err
	}
	r := &runner{cfg: c, client: c.Client, tag: runTag()}
	if r.client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns = 2 * c.Concurrency
		tr.MaxIdleConnsPerHost = c.Concurrency
		tr.DisableCompression = true
		defer tr.CloseIdleConnections()
		r.client = &http.Client{Transport: tr, Timeout: requestTimeout}
	}
	r.users = make([]string, c.Users)
	r.bodies = make([][]byte, c.Users)
	for i := range r.users {
		r.users[i] = c.UserPrefix + strconv.Itoa(i)
		r.bodies[i], _ = json.Marshal(drawRequest{UserID: r.users[i], ActivityID: c.ActivityID})
	}

	if c.GrantQuota > 0 {
		fmt.Fprintf(out, "granting %d draws to each of %d users (%s0…%s%d)\n", c.GrantQuota, c.Users, c.UserPrefix, c.UserPrefix, c.Users-1)
		if err := r.grantAll(ctx); err != nil {
			return Report{}, err
		}
	}
	if err := r.armory(ctx); err != nil {
		return Report{}, err
	}
	bound := "until " + strconv.Itoa(c.Requests) + " requests"
	if c.Duration > 0 {
		bound = "for " + c.Duration.String()
		if c.Requests > 0 {
			bound += " or " + strconv.Itoa(c.Requests) + " requests"
		}
	}
	fmt.Fprintf(out, "drawing activity %d at %s with %d workers %s\n", c.ActivityID, c.BaseURL, c.Concurrency, bound)

	var lagBefore lagSnapshot
	var lagErr error
	if c.DeliveryWait > 0 {
		lagBefore, lagErr = r.readLag(ctx)
	}
	rep := r.drive(ctx)
	if err := ctx.Err(); err != nil {
		_ = rep.WriteTable(out)
		return rep, fmt.Errorf("loadtest: run stopped after %d requests: %w", rep.Requests, err)
	}
	switch {
	case c.DeliveryWait < 0:
	case lagErr != nil:
		rep.DeliveryNote = lagErr.Error()
	default:
		fmt.Fprintf(out, "waiting up to %s for %d awards to be delivered\n", c.DeliveryWait, rep.Codes[codeSuccess])
		d, err := r.awaitDelivery(ctx, lagBefore, rep.Codes[codeSuccess])
		if err != nil {
			if ctx.Err() != nil {
				_ = rep.WriteTable(out)
				return rep, fmt.Errorf("loadtest: delivery wait: %w", err)
			}
			rep.DeliveryNote = err.Error()
		}
		rep.Delivery = d
	}
	var checkErr error
	if c.CheckStock {
		if c.Settle > 0 {
			select {
			case <-ctx.Done():
				_ = rep.WriteTable(out)
				return rep, fmt.Errorf("loadtest: stock check: %w", ctx.Err())
			case <-time.After(c.Settle):
			}
		}
		sc, err := r.checkStock(ctx)
		if err != nil {
			_ = rep.WriteTable(out)
			return rep, err
		}
		rep.StockCheck = sc
		if !sc.Passed() {
			checkErr = fmt.Errorf("check stock: %w: %s", ErrStockInvariant, strings.Join(sc.Violations, "; "))
		}
	}
	if err := rep.WriteTable(out); err != nil && checkErr == nil {
		checkErr = fmt.Errorf("loadtest: write report: %w", err)
	}
	return rep, checkErr
}

// runner holds one run's state.
type runner struct {
	cfg    Config
	client *http.Client
	tag    string   // tells this run's grant ids apart
	users  []string // user ids by index
	bodies [][]byte // draw request bodies by user index
}

type drawRequest struct {
	UserID     string `json:"userId"`
	ActivityID int64  `json:"activityId"`
}

type grantRequest struct {
	ID         string `json:"id"`
	UserID     string `json:"userId"`
	ActivityID int64  `json:"activityId"`
	Total      int64  `json:"total"`
	Day        int64  `json:"day"`
	Month      int64  `json:"month"`
}

// envelope is every answer's shape.
type envelope struct {
	Code string          `json:"code"`
	Info string          `json:"info"`
	Data json.RawMessage `json:"data"`
}

// drawAnswer is the data of a successful draw.
type drawAnswer struct {
	AwardID    int64  `json:"awardId"`
	AwardTitle string `json:"awardTitle"`
	AwardIndex int    `json:"awardIndex"`
}

// call sends one setup or check request and decodes the data of a "0000" answer
// into data (nil skips it).
func (r *runner) call(ctx context.Context, method, path string, body any, admin bool, data any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s %s: encode: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.cfg.BaseURL+path, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if admin {
		req.Header.Set("Authorization", "Bearer "+r.cfg.AdminToken)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil || env.Code == "" {
		return fmt.Errorf("%s %s: %w: HTTP %d, no envelope: %.200q", method, path, ErrUnexpectedAnswer, resp.StatusCode, b)
	}
	if resp.StatusCode != http.StatusOK || env.Code != codeSuccess {
		return fmt.Errorf("%s %s: %w: HTTP %d code %s: %s", method, path, ErrUnexpectedAnswer, resp.StatusCode, env.Code, env.Info)
	}
	if data != nil {
		if err := json.Unmarshal(env.Data, data); err != nil {
			return fmt.Errorf("%s %s: %w: data %.200q: %v", method, path, ErrUnexpectedAnswer, env.Data, err)
		}
	}
	return nil
}

// grantAll grants quota to every user, from up to Concurrency workers; the first
// failure stops the others and is returned.
func (r *runner) grantAll(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(r.cfg.Concurrency, len(r.users)) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(r.users) {
					return
				}
				g := grantRequest{
					ID:         "load-grant-" + r.tag + "-" + strconv.Itoa(i),
					UserID:     r.users[i],
					ActivityID: r.cfg.ActivityID,
					Total:      r.cfg.GrantQuota,
					Day:        r.cfg.GrantQuota,
					Month:      r.cfg.GrantQuota,
				}
				if err := r.call(ctx, http.MethodPost, pathGrant, g, true, nil); err != nil {
					cancel(fmt.Errorf("loadtest: grant quota: user[%s] activity[%d]: %w", g.UserID, g.ActivityID, err))
					return
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return nil
}

// armory assembles the activity's strategy once before the run.
func (r *runner) armory(ctx context.Context) error {
	var ok bool
	path := pathArmory + "?activityId=" + strconv.FormatInt(r.cfg.ActivityID, 10)
	if err := r.call(ctx, http.MethodGet, path, nil, false, &ok); err != nil {
		return fmt.Errorf("loadtest: armory: activity[%d]: %w", r.cfg.ActivityID, err)
	}
	return nil
}

// checkStock reads every award's stock and lists the broken bounds.
func (r *runner) checkStock(ctx context.Context) (*StockCheck, error) {
	var rows []StockRow
	if err := r.call(ctx, http.MethodGet, pathStock, nil, true, &rows); err != nil {
		return nil, fmt.Errorf("loadtest: check stock: %w", err)
	}
	sc := &StockCheck{Rows: rows}
	for _, row := range rows {
		if row.Recorded > row.Count {
			sc.Violations = append(sc.Violations, fmt.Sprintf("strategy[%d] award[%d]: %d records > stock %d", row.StrategyID, row.AwardID, row.Recorded, row.Count))
		}
		if row.Taken > row.Count {
			sc.Violations = append(sc.Violations, fmt.Sprintf("strategy[%d] award[%d]: %d taken > stock %d", row.StrategyID, row.AwardID, row.Taken, row.Count))
		}
	}
	return sc, nil
}

// worker is one draw worker's tallies, merged after the run.
type worker struct {
	hist         histogram
	requests     int
	errors       int
	missingAward int
	codes        map[string]int
	awards       map[int64]int
	buf          bytes.Buffer
}

// drive runs the draw workers and merges their tallies.
func (r *runner) drive(ctx context.Context) Report {
	var (
		next     atomic.Int64 // request sequence: picks the user, enforces the cap
		wg       sync.WaitGroup
		workers  = make([]*worker, r.cfg.Concurrency)
		start    = time.Now()
		deadline time.Time
	)
	if r.cfg.Duration > 0 {
		deadline = start.Add(r.cfg.Duration)
	}
	for i := range workers {
		w := &worker{codes: make(map[string]int), awards: make(map[int64]int)}
		workers[i] = w
		wg.Go(func() { r.work(ctx, w, &next, deadline) })
	}
	wg.Wait()
	elapsed := time.Since(start)

	rep := Report{Codes: make(map[string]int), Awards: make(map[int64]int), Elapsed: elapsed}
	var h histogram
	for _, w := range workers {
		h.merge(&w.hist)
		rep.Requests += w.requests
		rep.Errors += w.errors
		rep.MissingAward += w.missingAward
		for k, n := range w.codes {
			rep.Codes[k] += n
		}
		for k, n := range w.awards {
			rep.Awards[k] += n
		}
	}
	if s := elapsed.Seconds(); s > 0 {
		rep.Throughput = Throughput{Draws: float64(rep.Codes[codeSuccess]) / s, Requests: float64(rep.Requests) / s}
	}
	rep.P50, rep.P95, rep.P99 = h.quantile(0.50), h.quantile(0.95), h.quantile(0.99)
	rep.Max = time.Duration(h.max)
	return rep
}

// work sends draws until the deadline passes (zero: none), the request cap is
// reached or ctx ends. Users are picked round-robin over the shared sequence, so
// one user's draws are spread out over the run.
func (r *runner) work(ctx context.Context, w *worker, next *atomic.Int64, deadline time.Time) {
	target := r.cfg.BaseURL + pathDraw
	limit := int64(r.cfg.Requests)
	n := int64(len(r.bodies))
	for ctx.Err() == nil {
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			return
		}
		seq := next.Add(1) - 1
		if limit > 0 && seq >= limit {
			return
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(r.bodies[seq%n]))
		if err != nil { // the URL was validated: cannot happen
			w.requests++
			w.errors++
			continue
		}
		req.Header.Set("Content-Type", "application/json")
		begin := time.Now()
		resp, err := r.client.Do(req)
		if err == nil {
			w.buf.Reset()
			_, err = w.buf.ReadFrom(resp.Body)
			resp.Body.Close()
		}
		end := time.Now()
		if err != nil {
			if ctx.Err() != nil {
				return // aborted by the caller, not a server failure
			}
			w.requests++
			w.errors++
			continue
		}
		w.requests++
		w.hist.record(end.Sub(begin))
		w.tally(resp.StatusCode, w.buf.Bytes())
	}
}

// tally counts one answer's code and award.
func (w *worker) tally(status int, body []byte) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil || env.Code == "" {
		w.codes["HTTP "+strconv.Itoa(status)+" no envelope"]++
		return
	}
	if status != http.StatusOK {
		w.codes["HTTP "+strconv.Itoa(status)+" "+env.Code]++
		return
	}
	w.codes[env.Code]++
	if env.Code != codeSuccess {
		return
	}
	var a drawAnswer
	if err := json.Unmarshal(env.Data, &a); err != nil || a.AwardID <= 0 {
		w.missingAward++
		return
	}
	w.awards[a.AwardID]++
}
