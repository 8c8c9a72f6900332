package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/app/apptest"
	"github.com/bigmarket/bigmarket/internal/draw"
	"github.com/bigmarket/bigmarket/internal/httpapi"
)

type drawCodesData struct {
	Time      int64
	DrawCodes []struct {
		Minute int64
		Counts map[string]int64
	}
	DrawsPerSecond map[string]float64
}

func drawCodeStats(t *testing.T, h http.Handler) drawCodesData {
	t.Helper()
	env := do(t, h, scenario{method: "GET", path: "/api/admin/v1/stats", admin: true})
	if env.Code != "0000" {
		t.Fatalf("stats: %s %s", env.Code, env.Info)
	}
	var s drawCodesData
	if err := json.Unmarshal(env.Data, &s); err != nil {
		t.Fatalf("stats %s: %v", env.Data, err)
	}
	return s
}

// TestStatsCountDrawAnswersByCode: draws that succeed, that find no quota,
// that meet the degrade switch and that lack a token are all counted by the
// code they answered in GET stats' drawCodes (a refused draw leaves no
// record, so only the shared answer counts show them); other endpoints are
// not counted.
func TestStatsCountDrawAnswersByCode(t *testing.T) {
	a := apptest.New(t, nil)
	a.Start()
	h := a.Handler()
	if s := drawCodeStats(t, h); s.DrawCodes == nil || len(s.DrawCodes) != 0 || s.DrawsPerSecond == nil {
		t.Fatalf("before any draw: drawCodes %v, drawsPerSecond %v; want both empty, not absent", s.DrawCodes, s.DrawsPerSecond)
	}
	const user = "coder"
	grant(t, h, "codes-g1", user, 100301, 2, 2, 2)
	want := map[string]int64{}
	draw := func(path string) string {
		env := do(t, h, scenario{method: "POST", path: path, body: drawBody(user, 100301)})
		want[env.Code]++
		return env.Code
	}
	for range 2 {
		if code := draw("/api/v1/raffle/activity/draw"); code != "0000" {
			t.Fatalf("draw with quota: %s", code)
		}
	}
	if code := draw("/api/v1/raffle/activity/draw"); code != "ERR_BIZ_006" {
		t.Fatalf("draw without quota: %s", code)
	}
	if code := draw("/api/v1/raffle/activity/draw_by_token"); code == "0000" {
		t.Fatal("draw_by_token without a token succeeded")
	}
	do(t, h, scenario{method: "PUT", path: "/api/admin/v1/switches", admin: true, body: `{"key":"degradeSwitch","value":"open"}`})
	for range 2 {
		if code := draw("/api/v1/raffle/activity/draw"); code != "0004" {
			t.Fatalf("draw while degraded: %s", code)
		}
	}
	// Not draws: never counted.
	do(t, h, scenario{method: "POST", path: "/api/v1/raffle/activity/query_user_activity_account", body: drawBody(user, 100301)})
	do(t, h, scenario{method: "POST", path: raffle, body: `{"strategyId":100006}`})

	var got map[string]int64
	eventually(t, func() error {
		s := drawCodeStats(t, h)
		got = map[string]int64{}
		for _, m := range s.DrawCodes {
			if m.Minute%60_000 != 0 || m.Minute > s.Time || m.Minute < s.Time-61*60_000 {
				return fmt.Errorf("minute %d outside the last hour of %d", m.Minute, s.Time)
			}
			for code, n := range m.Counts {
				got[code] += n
			}
		}
		if !maps.Equal(got, want) {
			return fmt.Errorf("drawCodes sum to %v, want the answers given %v", got, want)
		}
		return nil
	})
}

// panicky is an ActivityService whose Draw answers by the user id: "ok" wins,
// "boom" panics; every other method is unused.
type panicky struct{ httpapi.ActivityService }

func (panicky) Draw(_ context.Context, user string, _ int64) (draw.Result, error) {
	if user == "boom" {
		panic("draw exploded")
	}
	return draw.Result{AwardID: 101}, nil
}

type answers struct {
	mu    sync.Mutex
	codes map[string]int
}

func (a *answers) Count(_ time.Time, code string) {
	a.mu.Lock()
	a.codes[code]++
	a.mu.Unlock()
}

// TestDrawAnswersCountEveryAnswer: the endpoint wrapper counts each draw
// answer once, a bad request by its 0002 and a panic by the 0001 it answers.
func TestDrawAnswersCountEveryAnswer(t *testing.T) {
	c := &answers{codes: map[string]int{}}
	h := httpapi.New(httpapi.Config{AdminToken: adminToken}, httpapi.Deps{Activity: panicky{}, DrawAnswers: c})
	post := func(body string) int {
		req := httptest.NewRequest("POST", "/api/v1/raffle/activity/draw", strings.NewReader(body))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	post(`{"userId":"ok","activityId":1}`)
	post(`{"userId":"ok","activityId":1}`)
	post(`{"userId":"","activityId":1}`)
	if status := post(`{"userId":"boom","activityId":1}`); status != http.StatusInternalServerError {
		t.Fatalf("a panicking draw answered HTTP %d", status)
	}
	if want := map[string]int{"0000": 2, "0002": 1, "0001": 1}; !maps.Equal(c.codes, want) {
		t.Fatalf("counted %v, want %v", c.codes, want)
	}
}
