package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/app/apptest"
	"github.com/bigmarket/bigmarket/internal/config"
)

// The operator console's users, outbox and switches endpoints: the grant's
// reason, the outbox filters and paging, retrying every failed task.

type taskRow struct {
	MessageID, UserID, Topic, State, LastError string
	Attempts                                   int
	CreateTime, UpdateTime                     int64
}

func taskList(t *testing.T, h http.Handler, query string) []taskRow {
	t.Helper()
	env := do(t, h, scenario{method: "GET", path: "/api/admin/v1/tasks" + query, admin: true})
	if env.Code != "0000" {
		t.Fatalf("tasks%s: %s %s", query, env.Code, env.Info)
	}
	var rows []taskRow
	if err := json.Unmarshal(env.Data, &rows); err != nil {
		t.Fatal(err)
	}
	return rows
}

// deadBroker configures RabbitMQ at an address where nothing listens: every
// publish fails, so the draws' tasks end in state fail with their error.
func deadBroker(t *testing.T) func(*config.Config) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	return func(c *config.Config) {
		namedAdmins(c)
		c.RabbitMQ.URL = "amqp://guest:guest@" + dead + "/"
		c.RabbitMQ.ConnectTimeout = 200 * time.Millisecond
	}
}

// TestGrantReason: a grant's reason is in its audit entry with the actor's
// name; a reason too long or with control characters is refused with 0002 and
// grants nothing; a grant without a reason still works.
func TestGrantReason(t *testing.T) {
	h := apptest.New(t, namedAdmins).Handler()
	path := "/api/admin/v1/quota/grant"
	g := func(id, reason string) string {
		return body(map[string]any{"id": id, "userId": "reasoned", "activityId": 100301, "total": 2, "day": 2, "month": 2, "reason": reason})
	}
	before := auditLog(t, h, "")
	run(t, h, []scenario{
		{name: "reason too long", method: "POST", path: path, header: as(aliceToken), body: g("r-1", strings.Repeat("x", 201)), wantCode: "0002"},
		{name: "reason with a newline", method: "POST", path: path, header: as(aliceToken), body: g("r-1", "two\nlines"), wantCode: "0002"},
		{name: "reason not a string", method: "POST", path: path, header: as(aliceToken),
			body: `{"id":"r-1","userId":"reasoned","activityId":100301,"total":2,"day":2,"month":2,"reason":7}`, wantCode: "0002"},
	})
	if d := lookup(t, h, "reasoned"); len(d.Accounts) != 0 {
		t.Fatalf("refused grants granted %+v", d.Accounts)
	}
	if got := auditLog(t, h, ""); len(got) != len(before) {
		t.Fatalf("refused grants were audited: %+v", got[:len(got)-len(before)])
	}
	run(t, h, []scenario{
		{name: "grant with a reason", method: "POST", path: path, header: as(aliceToken), body: g("r-1", "  make up for the outage of 3 May  "), wantCode: "0000"},
		{name: "grant without one", method: "POST", path: path, header: as(bobToken), body: g("r-2", ""), wantCode: "0000"},
	})
	if d := lookup(t, h, "reasoned"); d.Accounts["100301"].TotalCountSurplus != 4 {
		t.Fatalf("accounts %+v, want 4 draws from two grants", d.Accounts)
	}
	got := auditLog(t, h, "")
	if len(got)-len(before) != 2 {
		t.Fatalf("%d new audit entries, want 2", len(got)-len(before))
	}
	if e := got[1]; e.Actor != "alice" || e.Action != "quota.grant" || e.Target != "reasoned" ||
		!strings.HasSuffix(e.Summary, ", reason: make up for the outage of 3 May") || !strings.Contains(e.Summary, "grant r-1: activity 100301, total 2") {
		t.Fatalf("grant entry %+v: want alice's grant r-1 with its reason", e)
	}
	if e := got[0]; e.Actor != "bob" || strings.Contains(e.Summary, "reason") {
		t.Fatalf("grant entry %+v: want bob's grant r-2 without a reason", e)
	}
}

// TestTaskFilters: GET tasks filters by state, topic and user and pages with
// offset; a bad filter answers 0002.
func TestTaskFilters(t *testing.T) {
	h := apptest.New(t, namedAdmins).Handler()
	users := []string{"filter-a", "filter-b"}
	for _, u := range users {
		grant(t, h, "fg-"+u, u, 100301, 3, 3, 3)
		for range 2 {
			if env := do(t, h, scenario{method: "POST", path: "/api/v1/raffle/activity/draw", body: drawBody(u, 100301)}); env.Code != "0000" {
				t.Fatalf("draw: %s %s", env.Code, env.Info)
			}
		}
	}
	// Each draw announces its award (send_award); the tasks complete.
	eventually(t, func() error {
		if n := len(taskList(t, h, "?state=completed&topic=send_award&limit=1000")); n < 4 {
			return fmt.Errorf("%d completed send_award tasks, want 4", n)
		}
		return nil
	})
	all := taskList(t, h, "?limit=1000")
	mine := taskList(t, h, "?userId=filter-a&topic=send_award")
	if len(mine) != 2 {
		t.Fatalf("filter-a's send_award tasks: %+v, want the 2 of its draws", mine)
	}
	for _, tk := range mine {
		if tk.UserID != "filter-a" || tk.Topic != "send_award" || tk.MessageID == "" || tk.CreateTime <= 0 {
			t.Fatalf("task %+v: want filter-a's send_award", tk)
		}
	}
	for _, tk := range taskList(t, h, "?topic=send_award&limit=1000") {
		if tk.Topic != "send_award" {
			t.Fatalf("topic filter let through %+v", tk)
		}
	}
	// Paging: offset walks the same order as one long page.
	var paged []string
	for off := 0; off < len(all); off += 2 {
		for _, tk := range taskList(t, h, fmt.Sprintf("?limit=2&offset=%d", off)) {
			paged = append(paged, tk.MessageID)
		}
	}
	if len(paged) != len(all) {
		t.Fatalf("pages of 2 gave %d tasks, one page %d", len(paged), len(all))
	}
	for i, tk := range all {
		if paged[i] != tk.MessageID {
			t.Fatalf("page order %v differs from %+v at %d", paged, all, i)
		}
	}
	if rest := taskList(t, h, fmt.Sprintf("?offset=%d", len(all))); len(rest) != 0 {
		t.Fatalf("past the end: %+v", rest)
	}
	tasks := "/api/admin/v1/tasks"
	run(t, h, []scenario{
		{name: "unknown topic", method: "GET", path: tasks + "?topic=nope", admin: true, wantCode: "0002"},
		{name: "negative offset", method: "GET", path: tasks + "?offset=-1", admin: true, wantCode: "0002"},
		{name: "offset too far", method: "GET", path: tasks + "?offset=10001", admin: true, wantCode: "0002"},
		{name: "offset not a number", method: "GET", path: tasks + "?offset=x", admin: true, wantCode: "0002"},
		{name: "user too long", method: "GET", path: tasks + "?userId=" + strings.Repeat("u", 65), admin: true, wantCode: "0002"},
		{name: "bad state", method: "GET", path: tasks + "?state=done", admin: true, wantCode: "0002"},
		{name: "no token", method: "GET", path: tasks, wantHTTP: http.StatusUnauthorized, wantCode: "0003"},
	})
}

// TestRetryFailedTasks: with the broker down the draws' tasks fail, each with
// its last error; POST tasks/retry_failed resets and republishes them (bounded
// by limit, filtered by topic and user) and records one audit entry with the
// actor's name; bad input answers 0002 and changes nothing.
func TestRetryFailedTasks(t *testing.T) {
	h := apptest.New(t, deadBroker(t)).Handler()
	users := []string{"retry-a", "retry-b", "retry-c"}
	for _, u := range users {
		grant(t, h, "rg-"+u, u, 100301, 1, 1, 1)
		if env := do(t, h, scenario{method: "POST", path: "/api/v1/raffle/activity/draw", body: drawBody(u, 100301)}); env.Code != "0000" {
			t.Fatalf("draw: %s %s", env.Code, env.Info)
		}
	}
	var failed []taskRow
	eventually(t, func() error {
		failed = taskList(t, h, "?state=fail&topic=send_award")
		if len(failed) != len(users) {
			return fmt.Errorf("%d failed send_award tasks, want %d", len(failed), len(users))
		}
		return nil
	})
	for _, tk := range failed {
		if tk.LastError == "" {
			t.Fatalf("failed task %+v: no last error", tk)
		}
	}
	byID := func() map[string]taskRow {
		m := map[string]taskRow{}
		for _, tk := range taskList(t, h, "?limit=1000") {
			m[tk.MessageID] = tk
		}
		return m
	}
	path := "/api/admin/v1/tasks/retry_failed"
	before, audited := byID(), auditLog(t, h, "")
	run(t, h, []scenario{
		{name: "limit too large", method: "POST", path: path, header: as(aliceToken), body: `{"limit":1001}`, wantCode: "0002"},
		{name: "negative limit", method: "POST", path: path, header: as(aliceToken), body: `{"limit":-1}`, wantCode: "0002"},
		{name: "unknown topic", method: "POST", path: path, header: as(aliceToken), body: `{"topic":"nope"}`, wantCode: "0002"},
		{name: "user with a control character", method: "POST", path: path, header: as(aliceToken), body: `{"userId":"a\u0001"}`, wantCode: "0002"},
		{name: "malformed body", method: "POST", path: path, header: as(aliceToken), body: `{"limit":`, wantCode: "0002"},
		{name: "no body", method: "POST", path: path, header: as(aliceToken), wantCode: "0002"},
		{name: "no token", method: "POST", path: path, body: `{}`, wantHTTP: http.StatusUnauthorized, wantCode: "0003"},
		{name: "wrong method", method: "GET", path: path, admin: true, wantHTTP: http.StatusMethodNotAllowed, wantCode: "0002"},
		{name: "a user without failed tasks", method: "POST", path: path, header: as(aliceToken), body: `{"userId":"nobody"}`, wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				if !strings.Contains(string(d), `"retried":0`) {
					t.Fatalf("answer %s, want 0 retried", d)
				}
			}},
	})
	if after := byID(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("refused retries changed tasks:\nbefore %+v\nafter  %+v", before, after)
	}
	if got := auditLog(t, h, ""); len(got) != len(audited) {
		t.Fatalf("refused or empty retries were audited: %+v", got[:len(got)-len(audited)])
	}

	type answer struct {
		Retried int
		More    bool
		Tasks   []taskRow
	}
	retry := func(token, req string) answer {
		t.Helper()
		env := do(t, h, scenario{method: "POST", path: path, header: as(token), body: req})
		if env.Code != "0000" {
			t.Fatalf("retry_failed %s: %s %s", req, env.Code, env.Info)
		}
		var a answer
		if err := json.Unmarshal(env.Data, &a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	// One user's: only that user's failed task.
	one := retry(bobToken, `{"userId":"retry-b","topic":"send_award"}`)
	if one.Retried != 1 || one.More || len(one.Tasks) != 1 || one.Tasks[0].UserID != "retry-b" || one.Tasks[0].Attempts != 0 {
		t.Fatalf("retry retry-b's: %+v", one)
	}
	// Bounded: a limit of 2 retries two of the failed tasks and says there may be more.
	two := retry(aliceToken, `{"topic":"send_award","limit":2}`)
	if two.Retried != 2 || !two.More {
		t.Fatalf("retry with limit 2: %+v", two)
	}
	after := byID()
	for _, tk := range append(one.Tasks, two.Tasks...) {
		if after[tk.MessageID].UpdateTime <= before[tk.MessageID].UpdateTime {
			t.Fatalf("task %s not reset: before %+v, after %+v", tk.MessageID, before[tk.MessageID], after[tk.MessageID])
		}
	}
	got := auditLog(t, h, "")
	if len(got)-len(audited) != 2 {
		t.Fatalf("%d new audit entries, want 2", len(got)-len(audited))
	}
	if e := got[1]; e.Actor != "bob" || e.Action != "task.retry_failed" || e.Summary != "1 failed tasks retried (limit 100, topic send_award, user retry-b)" {
		t.Fatalf("audit entry %+v: want bob's retry of retry-b's tasks", e)
	}
	if e := got[0]; e.Actor != "alice" || e.Action != "task.retry_failed" || e.Summary != "2 failed tasks retried (limit 2, topic send_award)" {
		t.Fatalf("audit entry %+v: want alice's retry of 2 tasks", e)
	}
}

// TestUserLookupLimit: GET users/{userId}?limit= bounds each list to its
// newest entries (default 100); a bad limit answers 0002.
func TestUserLookupLimit(t *testing.T) {
	h := apptest.New(t, nil).Handler()
	const user = "limited"
	grant(t, h, "lg-1", user, 100301, 3, 3, 3)
	for range 3 {
		if env := do(t, h, scenario{method: "POST", path: "/api/v1/raffle/activity/draw", body: drawBody(user, 100301)}); env.Code != "0000" {
			t.Fatalf("draw: %s %s", env.Code, env.Info)
		}
	}
	type lists struct {
		RaffleOrders []struct{ OrderID string }
		AwardRecords []struct{ OrderID string }
	}
	get := func(query string) lists {
		t.Helper()
		env := do(t, h, scenario{method: "GET", path: "/api/admin/v1/users/" + user + query, admin: true})
		if env.Code != "0000" {
			t.Fatalf("users/%s%s: %s %s", user, query, env.Code, env.Info)
		}
		var l lists
		if err := json.Unmarshal(env.Data, &l); err != nil {
			t.Fatal(err)
		}
		return l
	}
	var all lists
	eventually(t, func() error {
		if all = get(""); len(all.RaffleOrders) != 3 || len(all.AwardRecords) != 3 {
			return fmt.Errorf("%d raffle orders, %d award records, want 3 each", len(all.RaffleOrders), len(all.AwardRecords))
		}
		return nil
	})
	two := get("?limit=2")
	if len(two.RaffleOrders) != 2 || len(two.AwardRecords) != 2 ||
		two.RaffleOrders[0] != all.RaffleOrders[0] || two.AwardRecords[1] != all.AwardRecords[1] {
		t.Fatalf("limit 2: %+v, want the newest 2 of %+v", two, all)
	}
	if l := get("?limit=1000"); len(l.RaffleOrders) != 3 {
		t.Fatalf("limit 1000: %+v", l)
	}
	path := "/api/admin/v1/users/" + user
	run(t, h, []scenario{
		{name: "zero", method: "GET", path: path + "?limit=0", admin: true, wantCode: "0002"},
		{name: "too many", method: "GET", path: path + "?limit=1001", admin: true, wantCode: "0002"},
		{name: "not a number", method: "GET", path: path + "?limit=all", admin: true, wantCode: "0002"},
	})
}
