package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/bigmarket/bigmarket/internal/app/apptest"
	"github.com/bigmarket/bigmarket/internal/config"
)

// Named admin tokens of the console tests (at least 16 bytes each).
const (
	aliceToken = "alice-token-0123456789"
	bobToken   = "bob-token-0123456789ab"
)

func namedAdmins(c *config.Config) {
	c.Auth.AdminTokens = config.AdminTokens{{Name: "alice", Token: aliceToken}, {Name: "bob", Token: bobToken}}
}

func as(token string) map[string]string { return map[string]string{"Authorization": "Bearer " + token} }

type auditRow struct {
	ID                             int64
	Time                           int64
	Actor, Action, Target, Summary string
}

func auditLog(t *testing.T, h http.Handler, query string) []auditRow {
	t.Helper()
	env := do(t, h, scenario{method: "GET", path: "/api/admin/v1/audit" + query, admin: true})
	if env.Code != "0000" {
		t.Fatalf("audit: %s %s", env.Code, env.Info)
	}
	var rows []auditRow
	if err := json.Unmarshal(env.Data, &rows); err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestNamedAdminTokens: each named token opens the admin, dcc and erp
// endpoints and the single token stays valid; near misses are refused.
func TestNamedAdminTokens(t *testing.T) {
	h := apptest.New(t, namedAdmins).Handler()
	sw := "/api/admin/v1/switches"
	run(t, h, []scenario{
		{name: "no token", method: "GET", path: sw, wantHTTP: http.StatusUnauthorized, wantCode: "0003"},
		{name: "alice", method: "GET", path: sw, header: as(aliceToken), wantCode: "0000"},
		{name: "bob", method: "GET", path: sw, header: as(bobToken), wantCode: "0000"},
		{name: "single token", method: "GET", path: sw, admin: true, wantCode: "0000"},
		{name: "prefix of a token", method: "GET", path: sw, header: as(aliceToken[:len(aliceToken)-1]), wantHTTP: http.StatusUnauthorized, wantCode: "0003"},
		{name: "token plus a byte", method: "GET", path: sw, header: as(aliceToken + "x"), wantHTTP: http.StatusUnauthorized, wantCode: "0003"},
		{name: "the name is not a token", method: "GET", path: sw, header: as("alice"), wantHTTP: http.StatusUnauthorized, wantCode: "0003"},
		{name: "without Bearer", method: "GET", path: sw, header: map[string]string{"Authorization": aliceToken}, wantHTTP: http.StatusUnauthorized, wantCode: "0003"},
		{name: "erp with bob", method: "GET", path: "/api/v1/raffle/erp/query_raffle_activity_stage_list", header: as(bobToken), wantCode: "0000"},
		{name: "dcc with alice", method: "GET", path: "/api/v1/raffle/dcc/update_config?key=degradeSwitch&value=close", header: as(aliceToken), wantCode: "0000"},
	})
}

// TestAuditLog: every admin write is recorded with the name of the token that
// made it, newest first; refused writes and reads are not recorded, and no
// token appears anywhere in the log.
func TestAuditLog(t *testing.T) {
	a := apptest.New(t, namedAdmins)
	h := a.Handler()
	const user = "auditor"
	// Material for the retries: a draw (award record, outbox task) and a sign-in
	// (rebate orders).
	grant(t, h, "audit-g1", user, 100301, 5, 5, 5)
	if env := do(t, h, scenario{method: "POST", path: "/api/v1/raffle/activity/draw", body: drawBody(user, 100301)}); env.Code != "0000" {
		t.Fatalf("draw: %s %s", env.Code, env.Info)
	}
	if env := do(t, h, scenario{method: "POST", path: "/api/v1/raffle/activity/calendar_sign_rebate?userId=" + user}); env.Code != "0000" {
		t.Fatalf("sign: %s %s", env.Code, env.Info)
	}
	var order, rebateOrder string
	eventually(t, func() error {
		d := lookup(t, h, user)
		var rebates []struct{ OrderID, State string }
		_ = json.Unmarshal(d.Extra["rebateOrders"], &rebates)
		if len(d.AwardRecords) == 0 || len(rebates) == 0 {
			return errString("no award record or rebate order yet")
		}
		order, rebateOrder = d.AwardRecords[0].OrderID, rebates[0].OrderID
		return nil
	})
	var tasks []struct{ MessageID string }
	if err := json.Unmarshal(do(t, h, scenario{method: "GET", path: "/api/admin/v1/tasks", admin: true}).Data, &tasks); err != nil || len(tasks) == 0 {
		t.Fatalf("tasks: %v %v", tasks, err)
	}
	var stages []struct{ ID int64 }
	if err := json.Unmarshal(do(t, h, scenario{method: "GET", path: "/api/v1/raffle/erp/query_raffle_activity_stage_list", admin: true}).Data, &stages); err != nil || len(stages) == 0 {
		t.Fatalf("stages: %v %v", stages, err)
	}
	export := do(t, h, scenario{method: "GET", path: "/api/admin/v1/campaign/export", admin: true})
	var yaml string
	if err := json.Unmarshal(export.Data, &yaml); err != nil {
		t.Fatal(err)
	}
	before := auditLog(t, h, "")

	writes := []scenario{
		{name: "switch by alice", method: "PUT", path: "/api/admin/v1/switches", header: as(aliceToken), body: `{"key":"degradeSwitch","value":"open"}`, wantCode: "0000"},
		{name: "refused switch value", method: "PUT", path: "/api/admin/v1/switches", header: as(aliceToken), body: `{"key":"degradeSwitch","value":"maybe"}`, wantCode: "0002"},
		{name: "dcc by bob", method: "GET", path: "/api/v1/raffle/dcc/update_config?key=degradeSwitch&value=close", header: as(bobToken), wantCode: "0000"},
		{name: "grant by the single token", method: "POST", path: "/api/admin/v1/quota/grant", admin: true,
			body: body(map[string]any{"id": "audit-g2", "userId": user, "activityId": 100301, "total": 2, "day": 2, "month": 2}), wantCode: "0000"},
		{name: "refused grant", method: "POST", path: "/api/admin/v1/quota/grant", header: as(bobToken),
			body: body(map[string]any{"id": "audit-g2", "userId": user, "activityId": 100301, "total": 9, "day": 9, "month": 9}), wantCode: "0003"},
		{name: "task retry by bob", method: "POST", path: "/api/admin/v1/tasks/" + tasks[0].MessageID + "/retry", header: as(bobToken), wantCode: "0000"},
		{name: "award retry by alice", method: "POST", path: "/api/admin/v1/users/" + user + "/awards/" + order + "/retry", header: as(aliceToken), wantCode: "0000"},
		{name: "rebate retry by bob", method: "POST", path: "/api/admin/v1/users/" + user + "/rebates/" + rebateOrder + "/retry", header: as(bobToken), wantCode: "0000"},
		{name: "stage by alice", method: "POST", path: "/api/v1/raffle/erp/update_stage_activity_2_active", header: as(aliceToken), body: body(map[string]any{"id": stages[0].ID}), wantCode: "0000"},
		{name: "refused campaign", method: "POST", path: "/api/admin/v1/campaign/apply", header: as(bobToken), body: "awards: [", wantCode: "0002"},
		{name: "campaign by bob", method: "POST", path: "/api/admin/v1/campaign/apply", header: as(bobToken), body: yaml, wantCode: "0000"},
		{name: "a read", method: "GET", path: "/api/admin/v1/users/" + user, header: as(aliceToken), wantCode: "0000"},
	}
	run(t, h, writes)

	got := auditLog(t, h, "")
	want := []struct{ actor, action, target, summary string }{
		{"bob", "campaign.apply", "revision ", "revision "},
		{"alice", "stage.activate", "", "activated"},
		{"bob", "rebate.retry", user, rebateOrder},
		{"alice", "award.retry", user, order},
		{"bob", "task.retry", tasks[0].MessageID, "retried"},
		{"admin", "quota.grant", user, "audit-g2"},
		{"bob", "switch.set", "degradeSwitch", "degradeSwitch = close"},
		{"alice", "switch.set", "degradeSwitch", "degradeSwitch = open"},
	}
	if len(got)-len(before) != len(want) {
		t.Fatalf("%d new audit entries, want %d (the successful writes): %+v", len(got)-len(before), len(want), got)
	}
	for i, w := range want {
		e := got[i]
		if e.Actor != w.actor || e.Action != w.action || !strings.HasPrefix(e.Target, w.target) || !strings.Contains(e.Summary, w.summary) {
			t.Errorf("entry %d = %+v, want actor %s action %s target %s… summary ∋ %q", i, e, w.actor, w.action, w.target, w.summary)
		}
		if e.Time <= 0 || (i > 0 && e.ID >= got[i-1].ID) {
			t.Errorf("entry %d: time %d id %d: want newest first", i, e.Time, e.ID)
		}
	}
	raw := do(t, h, scenario{method: "GET", path: "/api/admin/v1/audit?limit=1000", admin: true}).Data
	for _, tok := range []string{aliceToken, bobToken, "test-admin"} {
		if strings.Contains(string(raw), tok) {
			t.Fatalf("the audit log shows a token: %s", raw)
		}
	}
	// Paging: limit and before (the id of the last entry seen).
	page := auditLog(t, h, "?limit=2")
	next := auditLog(t, h, "?limit=2&before="+itoa(page[1].ID))
	if len(page) != 2 || len(next) != 2 || next[0].ID != got[2].ID || next[1].ID != got[3].ID {
		t.Fatalf("pages %+v then %+v, want entries 0-1 then 2-3 of %+v", page, next, got[:4])
	}
	run(t, h, []scenario{
		{name: "bad limit", method: "GET", path: "/api/admin/v1/audit?limit=0", admin: true, wantCode: "0002"},
		{name: "bad before", method: "GET", path: "/api/admin/v1/audit?before=x", admin: true, wantCode: "0002"},
		{name: "no token", method: "GET", path: "/api/admin/v1/audit", wantHTTP: http.StatusUnauthorized, wantCode: "0003"},
		{name: "switch state", method: "GET", path: "/api/admin/v1/switches/state", header: as(aliceToken), wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				var st []struct {
					Key, Value, ChangedBy string
					ChangedAt             int64
				}
				if err := json.Unmarshal(d, &st); err != nil {
					t.Fatal(err)
				}
				seen := false
				for _, s := range st {
					switch s.Key {
					case "degradeSwitch":
						seen = true
						if s.Value != "close" || s.ChangedBy != "bob" || s.ChangedAt != got[6].Time {
							t.Fatalf("degradeSwitch %+v, want close, changed by bob at %d", s, got[6].Time)
						}
					default:
						if s.ChangedBy != "" || s.ChangedAt != 0 {
							t.Fatalf("%s never changed, yet %+v", s.Key, s)
						}
					}
				}
				if !seen {
					t.Fatalf("no degradeSwitch in %s", d)
				}
			}},
	})
}

type errString string

func (e errString) Error() string { return string(e) }

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestCampaignRevisions: the history lists each applied campaign file, newest
// first, with its actor (the demo's first start is "system") and counts.
func TestCampaignRevisions(t *testing.T) {
	h := apptest.New(t, namedAdmins).Handler()
	var yaml string
	if err := json.Unmarshal(do(t, h, scenario{method: "GET", path: "/api/admin/v1/campaign/export", admin: true}).Data, &yaml); err != nil {
		t.Fatal(err)
	}
	type revision struct {
		Revision, Time int64
		Actor, Summary string
		Counts         struct{ Strategies, Awards, Activities int }
	}
	list := func(t *testing.T, d json.RawMessage) []revision {
		var rs []revision
		if err := json.Unmarshal(d, &rs); err != nil {
			t.Fatal(err)
		}
		return rs
	}
	run(t, h, []scenario{
		{name: "demo only", method: "GET", path: "/api/admin/v1/campaign/revisions", header: as(bobToken), wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				if rs := list(t, d); len(rs) != 1 || rs[0].Revision != 1 || rs[0].Actor != "system" || rs[0].Counts.Strategies == 0 {
					t.Fatalf("revisions %s, want the demo's revision 1 by system", d)
				}
			}},
		{name: "apply by alice", method: "POST", path: "/api/admin/v1/campaign/apply", header: as(aliceToken), body: yaml, wantCode: "0000"},
		{name: "refused apply by bob", method: "POST", path: "/api/admin/v1/campaign/apply", header: as(bobToken), body: "strategies: 1", wantCode: "0002"},
		{name: "history", method: "GET", path: "/api/admin/v1/campaign/revisions", admin: true, wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				rs := list(t, d)
				if len(rs) != 2 || rs[0].Revision != 2 || rs[0].Actor != "alice" || rs[1].Actor != "system" {
					t.Fatalf("revisions %s, want 2 by alice then 1 by system", d)
				}
				if rs[0].Counts != rs[1].Counts || !strings.Contains(rs[0].Summary, "revision 2: ") || !strings.Contains(rs[0].Summary, " strategies") || rs[0].Time <= 0 {
					t.Fatalf("revision 2 %+v: want the same counts as the demo and a summary", rs[0])
				}
			}},
		{name: "limit", method: "GET", path: "/api/admin/v1/campaign/revisions?limit=1", admin: true, wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				if rs := list(t, d); len(rs) != 1 || rs[0].Revision != 2 {
					t.Fatalf("limit 1: %s", d)
				}
			}},
		{name: "no token", method: "GET", path: "/api/admin/v1/campaign/revisions", wantHTTP: http.StatusUnauthorized, wantCode: "0003"},
	})
}
