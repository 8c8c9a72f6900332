package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/app"
)

// fleetDrawCodes sums GET stats' drawCodes over the hour, by code.
func fleetDrawCodes(t *testing.T, env envelope) map[string]int64 {
	t.Helper()
	if env.Code != "0000" {
		t.Fatalf("stats: %s %s", env.Code, env.Info)
	}
	var s struct {
		DrawCodes []struct{ Counts map[string]int64 }
	}
	if err := json.Unmarshal(env.Data, &s); err != nil {
		t.Fatalf("stats %s: %v", env.Data, err)
	}
	sum := map[string]int64{}
	for _, m := range s.DrawCodes {
		for code, n := range m.Counts {
			sum[code] += n
		}
	}
	return sum
}

// TestFleetCountsDrawAnswersByCode: three instances on one MariaDB, Redis and
// RabbitMQ. Draws answered by each (successes and ERR_BIZ_006) are counted
// once in the shared per-minute counts, and both running instances' GET stats
// report the fleet's sums. The third is never started (no periodic flush):
// its counts reach the others through the flush of its graceful stop.
func TestFleetCountsDrawAnswersByCode(t *testing.T) {
	cfg, a, b := sharedStockPair(t, stockCampaign, "dc", 2, 1)
	want := map[string]int64{}
	answer := func(env envelope) {
		want[env.Code]++
	}
	body := func(u string) string { return fmt.Sprintf(`{"userId":%q,"activityId":900101}`, u) }
	answer(call(t, a, "POST", "/api/v1/raffle/activity/draw", body("dc0")))
	answer(call(t, b, "POST", "/api/v1/raffle/activity/draw", body("dc0")))
	answer(call(t, b, "POST", "/api/v1/raffle/activity/draw", body("dc1")))

	c := cfg
	c.DataDir = t.TempDir()
	third, err := app.New(context.Background(), c, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	answer(call(t, third.Handler(), "POST", "/api/v1/raffle/activity/draw", body("dc1")))
	answer(call(t, third.Handler(), "POST", "/api/v1/raffle/activity/draw", body("nobody")))
	if err := third.Close(); err != nil {
		t.Fatal(err)
	}
	if want["0000"] != 2 || want["ERR_BIZ_006"] != 3 {
		t.Fatalf("answers %v: want two 0000 and three ERR_BIZ_006", want)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		gotA := fleetDrawCodes(t, call(t, a, "GET", "/api/admin/v1/stats", ""))
		gotB := fleetDrawCodes(t, call(t, b, "GET", "/api/admin/v1/stats", ""))
		if maps.Equal(gotA, want) && maps.Equal(gotB, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats drawCodes: first instance %v, second %v; want the fleet's answers %v", gotA, gotB, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
