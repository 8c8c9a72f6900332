package legacy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/app"
	"github.com/bigmarket/bigmarket/internal/app/apptest"
	"github.com/bigmarket/bigmarket/internal/config"
	"github.com/bigmarket/bigmarket/internal/legacy"
	"github.com/bigmarket/bigmarket/internal/testsvc"
)

type envelope struct {
	Code string          `json:"code"`
	Info string          `json:"info"`
	Data json.RawMessage `json:"data"`
}

func call(t *testing.T, h http.Handler, method, path, body string, admin bool) envelope {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewBufferString(body))
	req.Header.Set("Content-Type", "application/json")
	if admin {
		req.Header.Set("Authorization", "Bearer test-admin")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var env envelope
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
		t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
	}
	return env
}

// record and ledgerLine are the parts of the admin user view the test reads.
type record struct {
	OrderID string `json:"orderId"`
	State   string `json:"awardState"`
}

type ledgerLine struct {
	OutBusinessNo string `json:"outBusinessNo"`
}

func draw(t *testing.T, h http.Handler, user string, act int64) string {
	t.Helper()
	return call(t, h, "POST", "/api/v1/raffle/activity/draw", fmt.Sprintf(`{"userId":%q,"activityId":%d}`, user, act), false).Code
}

// TestImportedUsersDraw imports the fixture into an embedded bigmarket, wires
// the whole service and draws: each user draws exactly the quota they had in
// the original (alice: an undrawn raffle order plus 3 left; bob: nothing left
// today; carol: 5 left on 100401), and what the original had not delivered yet
// (alice's award, carol's sign-in rebate) is delivered by the outbox.
func TestImportedUsersDraw(t *testing.T) {
	f := loadFixture(t)
	today := time.Now().In(shanghai(t)).Format("2006-01-02")
	f.Users[0].Exec(t, "INSERT INTO raffle_activity_account_day (user_id, activity_id, day, day_count, day_count_surplus) VALUES ('lg_bob', 100301, '"+today+"', 100, 0)")

	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir, cfg.Demo = dir, false
	ctx := context.Background()
	db, _, err := app.OpenStorage(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := applyConfig(t, f, db)
	rep, err := legacy.ImportUsers(ctx, f.sources(), db, c, legacy.UsersOptions{})
	if err != nil || rep.Users != 3 {
		t.Fatalf("import %+v: %v", rep, err)
	}
	db.Close()

	a := apptest.New(t, func(c *config.Config) { c.DataDir, c.Demo = dir, false })
	a.Start()
	h := a.Handler()

	var codes []string
	for range 5 {
		codes = append(codes, draw(t, h, "lg_alice", 100301))
	}
	if want := []string{"0000", "0000", "0000", "0000", "ERR_BIZ_006"}; !slices.Equal(codes, want) {
		t.Errorf("alice's draws %v, want %v (the undrawn order, then the 3 draws left)", codes, want)
	}
	if code := draw(t, h, "lg_bob", 100301); code != "ERR_BIZ_008" {
		t.Errorf("bob's draw %s, want ERR_BIZ_008: no draws left today", code)
	}
	codes = nil
	for range 6 {
		codes = append(codes, draw(t, h, "lg_carol", 100401))
	}
	if want := []string{"0000", "0000", "0000", "0000", "0000", "ERR_BIZ_006"}; !slices.Equal(codes, want) {
		t.Errorf("carol's draws %v, want %v", codes, want)
	}

	// The record the original left in create is delivered: completed, with a
	// credit order keyed by its order id.
	testsvc.Eventually(t, "alice's pending legacy award delivered", func() bool {
		env := call(t, h, "GET", "/api/admin/v1/users/lg_alice", "", true)
		var d struct {
			AwardRecords []record     `json:"awardRecords"`
			Ledger       []ledgerLine `json:"ledger"`
		}
		if err := json.Unmarshal(env.Data, &d); err != nil {
			t.Fatalf("users/lg_alice: %s %s", env.Code, env.Data)
		}
		done := slices.ContainsFunc(d.AwardRecords, func(r record) bool {
			return r.OrderID == "319208617374" && r.State == "completed"
		})
		paid := slices.ContainsFunc(d.Ledger, func(o ledgerLine) bool { return o.OutBusinessNo == "319208617374" })
		return done && paid
	})
	// Carol's sign-in rebate the original had not delivered: credited once.
	testsvc.Eventually(t, "carol's pending legacy rebate delivered", func() bool {
		env := call(t, h, "GET", "/api/admin/v1/users/lg_carol", "", true)
		var d struct {
			Ledger []ledgerLine `json:"ledger"`
		}
		if err := json.Unmarshal(env.Data, &d); err != nil {
			t.Fatalf("users/lg_carol: %s %s", env.Code, env.Data)
		}
		return slices.ContainsFunc(d.Ledger, func(o ledgerLine) bool { return o.OutBusinessNo == "lg_carol_integral_20241008" })
	})
}
