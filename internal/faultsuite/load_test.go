package faultsuite

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const (
	adminToken = "fault-admin"
	pathDraw   = "/api/v1/raffle/activity/draw"
	pathGrant  = "/api/admin/v1/quota/grant"
	codeOK     = "0000"
)

// envelope is bigmarket's answer.
type envelope struct {
	Code string          `json:"code"`
	Info string          `json:"info"`
	Data json.RawMessage `json:"data"`
}

// post sends a JSON body and decodes the envelope.
func post(client *http.Client, url, body string, admin bool) (envelope, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader([]byte(body)))
	if err != nil {
		return envelope{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if admin {
		req.Header.Set("Authorization", "Bearer "+adminToken)
	}
	resp, err := client.Do(req)
	if err != nil {
		return envelope{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return envelope{}, err
	}
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil || env.Code == "" {
		return envelope{Code: fmt.Sprintf("HTTP %d", resp.StatusCode)}, nil
	}
	return env, nil
}

// grantQuota gives every user quota draws on activity through the admin API.
func grantQuota(t *testing.T, baseURL string, activity int64, users []string, quota int) {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	var failed atomic.Int64
	for _, u := range users {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			body := fmt.Sprintf(`{"id":"grant-%s","userId":"%s","activityId":%d,"total":%d,"day":%d,"month":%d}`, u, u, activity, quota, quota, quota)
			env, err := post(client, baseURL+pathGrant, body, true)
			if err != nil || env.Code != codeOK {
				if failed.Add(1) == 1 {
					t.Errorf("grant to %s: %v %s %s", u, err, env.Code, env.Info)
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d of %d quota grants failed", failed.Load(), len(users))
	}
}

// unknownOutcome are the answers after which a draw may still have committed:
// 0001 (an error: e.g. the database committed but its acknowledgement was lost
// with the connection) and 0006 (the draw's time budget passed). The server
// cannot know, so the check counts them with the transport errors as answers
// whose outcome the client cannot know. A load balancer's 502 and 504 (the
// instance died or hung after the request was sent to it) are unknown as well.
// Business refusals (ERR_BIZ_…, 0004, 0005) are definite and are not counted.
var unknownOutcome = map[string]bool{"0001": true, "0006": true, "HTTP 502": true, "HTTP 504": true}

// load drives activity/draw from many goroutines for many users against one or
// more instances and records every answer: per user the awards answered with
// 0000, and the requests whose fate the client cannot know (the connection broke
// after the request may have reached the server).
type load struct {
	targets  []string // base URLs; worker w sends to targets[w % len]
	activity int64
	users    []string
	pace     time.Duration // pause of a worker between requests

	client *http.Client
	stop   atomic.Bool
	wg     sync.WaitGroup

	mu       sync.Mutex
	answered map[string]map[int64]int // user → award id → draws answered 0000
	unclear  map[string]int           // user → requests that may have drawn without telling (see unknownOutcome)
	codes    map[string]int           // answer code (or transport outcome) → count
	okAt     map[string]int           // target → draws answered 0000
	allAt    map[string]int           // target → requests answered (any code)
	spans    map[string]span          // answer code (or transport outcome) → when first and last answered
}

// span is when an answer was first and last seen.
type span struct{ first, last time.Time }

func newLoad(targets []string, activity int64, users []string, pace time.Duration) *load {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &load{
		targets: targets, activity: activity, users: users, pace: pace,
		client:   &http.Client{Transport: tr, Timeout: 20 * time.Second},
		answered: map[string]map[int64]int{}, unclear: map[string]int{}, codes: map[string]int{},
		okAt: map[string]int{}, allAt: map[string]int{}, spans: map[string]span{},
	}
}

// start runs workers until finish is called.
func (l *load) start(workers int) {
	for w := range workers {
		l.wg.Go(func() { l.work(l.targets[w%len(l.targets)]) })
	}
}

// finish stops the workers after their current request and waits for them.
func (l *load) finish() {
	l.stop.Store(true)
	l.wg.Wait()
	l.client.CloseIdleConnections()
}

func (l *load) work(target string) {
	for !l.stop.Load() {
		user := l.users[rand.IntN(len(l.users))]
		env, err := post(l.client, target+pathDraw, fmt.Sprintf(`{"userId":"%s","activityId":%d}`, user, l.activity), false)
		l.mu.Lock()
		code := env.Code
		switch {
		case err != nil && errors.Is(err, syscall.ECONNREFUSED):
			code = "refused"
		case err != nil:
			code = "lost"
		}
		sp := l.spans[code]
		if sp.first.IsZero() {
			sp.first = time.Now()
		}
		sp.last = time.Now()
		l.spans[code] = sp
		switch {
		case err != nil && errors.Is(err, syscall.ECONNREFUSED):
			l.codes["refused"]++ // never reached a server
		case err != nil:
			l.codes["lost"]++
			l.unclear[user]++
		default:
			l.codes[env.Code]++
			l.allAt[target]++
			if unknownOutcome[env.Code] {
				l.unclear[user]++
			}
			if env.Code == codeOK {
				var d struct {
					AwardID int64 `json:"awardId"`
				}
				json.Unmarshal(env.Data, &d)
				m := l.answered[user]
				if m == nil {
					m = map[int64]int{}
					l.answered[user] = m
				}
				m[d.AwardID]++
				l.okAt[target]++
			}
		}
		l.mu.Unlock()
		if err != nil || env.Code != codeOK {
			time.Sleep(20 * time.Millisecond) // the target or a service is down: do not spin
		} else if l.pace > 0 {
			time.Sleep(l.pace)
		}
	}
}

// counts returns the draws answered 0000 and all answers of target so far.
func (l *load) counts(target string) (ok, all int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.okAt[target], l.allAt[target]
}

// awardTotal is the number of draws of award answered 0000.
func (l *load) awardTotal(award int64) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.answered {
		n += m[award]
	}
	return n
}

// waitAnswered waits until n draws were answered 0000, failing t after limit.
func (l *load) waitAnswered(t *testing.T, n int, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for l.answeredTotal() < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d draws answered 0000 after %s (answers %s)", l.answeredTotal(), n, limit, l.codeSummary())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// answeredTotal is the number of draws answered 0000.
func (l *load) answeredTotal() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.codes[codeOK]
}

// codeCounts returns a copy of the answers so far by code (or transport
// outcome).
func (l *load) codeCounts() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.codes)
}

// codeSpans returns when each answer code was first and last seen.
func (l *load) codeSpans() map[string]span {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.spans)
}

// codeSummary renders the answer codes for the log.
func (l *load) codeSummary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprint(l.codes)
}

// userNames returns n user ids with prefix.
func userNames(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%03d", prefix, i)
	}
	return out
}
