package web_test

import (
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/bigmarket/bigmarket/internal/config"
)

// The console's users, outbox and switches screens. Each step is a function
// of (browser, site, …) so that a longer journey can call them in sequence on
// one browser, signed in once.

// consoleOpsAdmin is the admin API with the console's token: the envelope's
// data, failing the test on any other code.
func consoleOpsAdmin[T any](s *site, method, path, body string) T {
	s.t.Helper()
	code, data := s.api(method, path, body, map[string]string{"Authorization": "Bearer " + consoleToken})
	if code != "0000" {
		s.t.Fatalf("%s %s: %s %s", method, path, code, data)
	}
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		s.t.Fatalf("%s %s: %v: %s", method, path, err, data)
	}
	return v
}

// consoleOpsMenu opens a console screen through its menu entry.
func consoleOpsMenu(b *browser, screen string) {
	b.t.Helper()
	b.click(fmt.Sprintf(`[data-testid="menu-%s"]`, screen))
}

// consoleOpsDialog clicks the dialog button sel once its dialog has finished
// opening (a click during the zoom animation may miss it), and waits until the
// dialog is gone.
func consoleOpsDialog(b *browser, sel string) {
	b.t.Helper()
	b.do(chromedp.WaitVisible(chromedp.CSS(sel)))
	deadline := time.Now().Add(10 * time.Second)
	for eval[bool](b, fmt.Sprintf(`(() => { const m = document.querySelector(%q).closest('.ant-modal'); return !m || /-(enter|appear|leave)/.test(m.className); })()`, sel)) {
		if time.Now().After(deadline) {
			b.t.Fatalf("the dialog of %s never finished opening", sel)
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.click(sel)
	b.do(chromedp.WaitNotVisible(chromedp.CSS(sel)))
}

// consoleOpsType replaces the text of the input sel with text.
func consoleOpsType(b *browser, sel, text string) {
	b.t.Helper()
	b.do(chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Focus(chromedp.CSS(sel)))
	n := len([]rune(eval[string](b, fmt.Sprintf(`document.querySelector(%q).value`, sel))))
	b.do(typeInto(sel, kb.End+strings.Repeat(kb.Backspace, n)+text))
}

type consoleOpsAccount struct {
	TotalCount, TotalCountSurplus, MonthCount, MonthCountSurplus, DayCount, DayCountSurplus int64
}

type consoleOpsUser struct {
	UserID   string
	Accounts map[string]consoleOpsAccount
	Credit   json.Number
}

// consoleOpsCheckUser checks that the user view shows what the API answers
// for user: the credit balance and every activity's quotas.
func consoleOpsCheckUser(b *browser, s *site, user string) consoleOpsUser {
	b.t.Helper()
	u := consoleOpsAdmin[consoleOpsUser](s, "GET", "/api/admin/v1/users/"+user, "")
	b.waitText(`[data-testid="user-id"]`, "the user's id", is(user))
	credit, err := strconv.ParseFloat(u.Credit.String(), 64)
	if err != nil {
		b.t.Fatal(err)
	}
	b.waitText(`[data-testid="user-credit"]`, "the credit balance the API answers", is(fmt.Sprintf("%.2f", credit)))
	for id, a := range u.Accounts {
		for _, c := range []struct {
			name        string
			left, count int64
		}{{"total", a.TotalCountSurplus, a.TotalCount}, {"month", a.MonthCountSurplus, a.MonthCount}, {"day", a.DayCountSurplus, a.DayCount}} {
			sel := func(part string) string { return fmt.Sprintf(`[data-testid="quota-%s-%s-%s"]`, id, c.name, part) }
			b.waitText(sel("left"), "the "+c.name+" draws left on "+id, is(strconv.FormatInt(c.left, 10)))
			b.waitText(sel("count"), "the "+c.name+" draws granted on "+id, is(strconv.FormatInt(c.count, 10)))
		}
	}
	return u
}

// consoleOpsGrant looks user up on the users screen (by typing the id), grants
// total draws a day and a month on activity 100301 with reason, and checks the
// view shows the figures the API answers, the grant included.
func consoleOpsGrant(b *browser, s *site, user string, total int, reason string) {
	b.t.Helper()
	consoleOpsMenu(b, "users")
	consoleOpsType(b, `#user-search`, user+"\r")
	before := consoleOpsCheckUser(b, s, user)
	if got := eval[string](b, `location.pathname`); got != "/admin/users/"+user {
		b.t.Fatalf("lookup at %s: want the user id in the URL", got)
	}
	b.waitText(`.ant-form-item:has(#grant-activity) .ant-select`, "activity 100301 chosen", func(x string) bool {
		return strings.HasPrefix(x, "100301")
	})
	n := strconv.Itoa(total)
	consoleOpsType(b, `#grant-total`, n)
	consoleOpsType(b, `#grant-month`, n)
	consoleOpsType(b, `#grant-day`, n)
	consoleOpsType(b, `#grant-reason`, reason)
	b.click(`#grant-submit`)
	b.waitText(`[data-testid="grant-done"]`, "the grant's confirmation", is(fmt.Sprintf("Granted: %d draws on activity 100301.", total)))
	after := consoleOpsCheckUser(b, s, user)
	if got, was := after.Accounts["100301"].TotalCountSurplus, before.Accounts["100301"].TotalCountSurplus; got != was+int64(total) {
		b.t.Fatalf("draws left %d after granting %d to %d", got, total, was)
	}
}

// consoleOpsUserView opens the user view by its link (/admin/users/<id>),
// checks it shows what the API answers and that its prizes are listed, and
// saves the screenshot of the user view.
func consoleOpsUserView(b *browser, s *site, user string) {
	b.t.Helper()
	b.open(s.url + "/admin/users/" + user)
	consoleOpsCheckUser(b, s, user)
	var records []struct{ OrderID, AwardTitle string }
	raw := consoleOpsAdmin[struct{ AwardRecords json.RawMessage }](s, "GET", "/api/admin/v1/users/"+user, "").AwardRecords
	if err := json.Unmarshal(raw, &records); err != nil {
		b.t.Fatal(err)
	}
	b.waitText(`#user-awards tbody`, "the user's prizes", func(x string) bool {
		for _, r := range records {
			if !strings.Contains(x, r.OrderID) || !strings.Contains(x, r.AwardTitle) {
				return false
			}
		}
		return len(records) > 0
	})
	b.shot("console-user")
}

type consoleOpsSwitch struct {
	Key, Value, ChangedBy string
	ChangedAt             int64
}

func consoleOpsSwitchState(s *site, key string) consoleOpsSwitch {
	s.t.Helper()
	for _, sw := range consoleOpsAdmin[[]consoleOpsSwitch](s, "GET", "/api/admin/v1/switches/state", "") {
		if sw.Key == key {
			return sw
		}
	}
	s.t.Fatalf("no switch %s", key)
	return consoleOpsSwitch{}
}

// consoleOpsDegrade turns degrade on (confirming in the dialog, after first
// cancelling it once) or off on the switches screen, and checks the screen
// and the API agree on the value and on who changed it (actor).
func consoleOpsDegrade(b *browser, s *site, on bool, actor string) {
	b.t.Helper()
	consoleOpsMenu(b, "switches")
	want, shown := "close", "off"
	if on {
		want, shown = "open", "on"
	}
	b.waitText(`[data-testid="value-degradeSwitch"]`, "degrade's current value", func(x string) bool { return x == "on" || x == "off" })
	b.click(`#switch-degradeSwitch`)
	if on {
		// Cancelling the dialog changes nothing.
		b.waitText(`.ant-modal-title`, "the confirmation dialog", is("Turn degrade on?"))
		consoleOpsDialog(b, `#degrade-cancel`)
		b.waitText(`[data-testid="value-degradeSwitch"]`, "degrade still off", is("off"))
		if v := consoleOpsSwitchState(s, "degradeSwitch").Value; v != "close" {
			b.t.Fatalf("degrade %s after a cancelled dialog", v)
		}
		b.click(`#switch-degradeSwitch`)
		b.waitText(`.ant-modal-title`, "the confirmation dialog", is("Turn degrade on?"))
		consoleOpsDialog(b, `#degrade-confirm`)
	}
	b.waitText(`[data-testid="value-degradeSwitch"]`, "degrade "+shown, is(shown))
	st := consoleOpsSwitchState(s, "degradeSwitch")
	if st.Value != want || st.ChangedBy != actor || st.ChangedAt == 0 {
		b.t.Fatalf("degradeSwitch %+v, want %s changed by %s", st, want, actor)
	}
	b.waitText(`[data-testid="changed-by-degradeSwitch"]`, "who changed degrade", is(actor))
	b.waitText(`[data-testid="changed-at-degradeSwitch"]`, "when degrade changed", func(x string) bool { return x != "" && x != "never changed" })
}

// consoleOpsBadSwitchValue enters a value the server refuses and checks the
// server's message is shown and nothing changed.
func consoleOpsBadSwitchValue(b *browser, s *site) {
	b.t.Helper()
	consoleOpsMenu(b, "switches")
	before := consoleOpsSwitchState(s, "rateLimiterPermitsPerSecond")
	consoleOpsType(b, `#input-rateLimiterPermitsPerSecond`, "fast")
	b.click(`#save-rateLimiterPermitsPerSecond`)
	b.waitText(`[data-testid="switch-error-rateLimiterPermitsPerSecond"]`, "the server's refusal", func(x string) bool {
		return strings.Contains(x, "want a number of permits per second") && strings.HasSuffix(x, "(0002)")
	})
	if after := consoleOpsSwitchState(s, "rateLimiterPermitsPerSecond"); after != before {
		b.t.Fatalf("a refused value changed the switch: %+v → %+v", before, after)
	}
}

// consoleOpsLottery opens the lottery page for user on 100301, waits for
// draws (the total left) and draws once: paused, the page shows its paused
// message and no draw is taken; otherwise the result dialog names a prize.
func consoleOpsLottery(b *browser, s *site, user string, draws int64, paused bool) {
	b.t.Helper()
	b.open(s.url + "/?userId=" + user + "&activityId=100301")
	left := strconv.FormatInt(draws, 10)
	b.waitText(drawsTotal, "the draws the grant gave", is(left))
	b.click(drawButton)
	if paused {
		b.waitText(notice, "the paused message", func(x string) bool { return strings.Contains(x, "paused") })
		if code := b.attr(notice, "data-code"); code != "0004" {
			b.t.Fatalf("notice code %q, want 0004", code)
		}
		b.waitText(drawsTotal, "no draw taken", is(left))
		return
	}
	b.waitText(`[data-testid="result-title"]`, "a prize once resumed", func(x string) bool { return x != "" })
	b.waitText(drawsTotal, "one draw taken", is(strconv.FormatInt(draws-1, 10)))
}

// consoleOpsAudit opens the audit log and checks it lists, with actor's name,
// each of want (action and a part of the summary), newest first.
func consoleOpsAudit(b *browser, s *site, actor string, want [][2]string) {
	b.t.Helper()
	b.open(s.url + "/admin/audit")
	rows := func() [][]string {
		return eval[[][]string](b, `[...document.querySelectorAll('#audit-table tbody tr.ant-table-row')].map(r => [...r.querySelectorAll('td')].map(td => td.textContent.trim()))`)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := rows()
		missing := ""
		i := 0
		for _, w := range want {
			for i < len(got) && !(len(got[i]) >= 5 && got[i][1] == actor && got[i][2] == w[0] && strings.Contains(got[i][4], w[1])) {
				i++
			}
			if i == len(got) {
				missing = fmt.Sprintf("%s %q by %s", w[0], w[1], actor)
				break
			}
			i++
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			b.shot("failure-" + strings.ReplaceAll(b.t.Name(), "/", "-"))
			b.t.Fatalf("the audit log lacks %s (in order, newest first): %v", missing, got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestConsoleOps: sign in → grant draws to a user with a reason, and the user
// view shows what the API answers → a refused switch value shows the
// server's message → degrade on, confirmed in the dialog → the lottery page
// shows its paused message → degrade off → the lottery page draws again → the
// user view shows the draw taken and the prize → the switches screen shows
// who changed degrade → the audit log lists the grant and both switch changes
// with the actor's name.
func TestConsoleOps(t *testing.T) {
	s := newSite(t, nil)
	b := newBrowser(t, 1280, 900, false, false)
	const user, reason = "ops-user", "make up for the outage of 3 May"
	signInConsole(b, s, "/admin/users", consoleToken)
	consoleOpsGrant(b, s, user, 5, reason)
	consoleOpsBadSwitchValue(b, s)
	consoleOpsDegrade(b, s, true, "admin")
	consoleOpsLottery(b, s, user, 5, true)
	b.open(s.url + "/admin/switches")
	consoleOpsDegrade(b, s, false, "admin")
	consoleOpsLottery(b, s, user, 5, false)
	consoleOpsUserView(b, s, user)
	b.open(s.url + "/admin/switches")
	b.waitText(`[data-testid="changed-by-degradeSwitch"]`, "who changed degrade last", is("admin"))
	consoleOpsAudit(b, s, "admin", [][2]string{
		{"switch.set", "degradeSwitch = close"},
		{"switch.set", "degradeSwitch = open"},
		{"quota.grant", "reason: " + reason},
	})
	b.checkClean(s.url)
}

// consoleOpsFailedTasks draws once for each of users with the broker down and
// waits until the outbox holds their failed send_award tasks; it returns
// their message ids.
func consoleOpsFailedTasks(s *site, users ...string) []string {
	s.t.Helper()
	for _, u := range users {
		s.admin("POST", "/api/admin/v1/quota/grant", fmt.Sprintf(`{"id":"ops-%s","userId":%q,"activityId":100301,"total":1,"day":1,"month":1}`, u, u))
		if code, data := s.api("POST", "/api/v1/raffle/activity/draw", fmt.Sprintf(`{"userId":%q,"activityId":100301}`, u), nil); code != "0000" {
			s.t.Fatalf("draw: %s %s", code, data)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		tasks := consoleOpsAdmin[[]struct{ MessageID, UserID, LastError string }](s, "GET", "/api/admin/v1/tasks?state=fail&topic=send_award", "")
		if len(tasks) == len(users) && tasks[0].LastError != "" {
			ids := make([]string, len(tasks))
			for i, tk := range tasks {
				ids[i] = tk.MessageID
			}
			return ids
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("failed tasks %+v, want one per draw with its error", tasks)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// consoleOpsOutboxRetry filters the outbox screen to failed tasks, checks a
// task's last error is shown as the API answers it, retries that one, then
// all failed tasks after confirming, and checks both were recorded.
func consoleOpsOutboxRetry(b *browser, s *site, ids []string) {
	b.t.Helper()
	b.open(s.url + "/admin/outbox?state=fail&topic=send_award")
	b.waitText(`#outbox-table tbody`, "the failed tasks", func(x string) bool {
		for _, id := range ids {
			if !strings.Contains(x, id) {
				return false
			}
		}
		return true
	})
	task := consoleOpsAdmin[[]struct{ MessageID, LastError string }](s, "GET", "/api/admin/v1/tasks?state=fail&topic=send_award&limit=1", "")[0]
	shown := eval[string](b, fmt.Sprintf(`(() => { const r = [...document.querySelectorAll('#outbox-table tbody tr')].find(r => r.textContent.includes(%q)); const e = r && r.querySelector('[data-testid="task-error"]'); return e ? e.textContent : ''; })()`, task.MessageID))
	if shown == "" || !strings.HasPrefix(task.LastError, strings.TrimSuffix(shown, "…")) {
		b.t.Fatalf("task %s shows error %q, the API %q", task.MessageID, shown, task.LastError)
	}
	b.click(fmt.Sprintf(`[data-testid="retry-task-%s"]`, task.MessageID))
	b.waitText(`.ant-message`, "the retry's confirmation", func(x string) bool { return strings.Contains(x, "Task "+task.MessageID+" published again.") })

	b.click(`#retry-all`)
	b.waitText(`.ant-modal-title`, "the retry-all confirmation", is("Retry every failed task?"))
	b.waitText(`.ant-modal-body`, "the filters it applies", func(x string) bool { return strings.Contains(x, "Topic send_award") })
	consoleOpsDialog(b, `#retry-all-confirm`)
	b.waitText(`[data-testid="retry-all-done"]`, "how many were retried", is(fmt.Sprintf("%d failed tasks published again.", len(ids))))
	consoleOpsAudit(b, s, "admin", [][2]string{
		{"task.retry_failed", fmt.Sprintf("%d failed tasks retried (limit 1000, topic send_award)", len(ids))},
		{"task.retry", task.MessageID},
	})
}

// TestConsoleOpsOutbox: with the event broker down, the draws' tasks fail;
// the outbox screen shows each with its last error, retries one, and after a
// confirmation all failed ones; the audit log lists both with the actor.
func TestConsoleOpsOutbox(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String() // nothing listens here: every publish fails
	ln.Close()
	s := newSite(t, func(c *config.Config) {
		c.RabbitMQ.URL = "amqp://guest:guest@" + dead + "/"
		c.RabbitMQ.ConnectTimeout = 200 * time.Millisecond
	})
	b := newBrowser(t, 1280, 900, false, false)
	ids := consoleOpsFailedTasks(s, "ops-a", "ops-b")
	signInConsole(b, s, "/admin/outbox", consoleToken)
	consoleOpsOutboxRetry(b, s, ids)
	b.checkClean(s.url)
}

// TestConsoleOpsPhone: on a 360 px phone the users, outbox and switches
// screens fit the width (tables scroll inside their card, the page does not).
func TestConsoleOpsPhone(t *testing.T) {
	s := newSite(t, nil)
	b := newBrowser(t, 360, 740, true, true)
	signInConsole(b, s, "/admin/users/xiaofuge", consoleToken)
	consoleOpsCheckUser(b, s, "xiaofuge")
	for _, c := range []struct{ path, ready string }{
		{"/admin/users/xiaofuge", `#user-awards`},
		{"/admin/outbox", `#outbox-table`},
		{"/admin/switches", `[data-testid="value-degradeSwitch"]`},
	} {
		b.open(s.url + c.path)
		b.do(chromedp.WaitVisible(chromedp.CSS(c.ready)))
		// A page wider than the phone makes the viewport itself wider (the
		// phone zooms out): compare with the phone's 360 px.
		if w := eval[[]float64](b, `[document.documentElement.scrollWidth, innerWidth]`); w[0] > 360 || w[1] > 360 {
			t.Errorf("%s: page %v px wide, viewport %v px, on a 360 px phone", c.path, w[0], w[1])
		}
		// Every card and control outside the tables' own scrolling is within
		// the viewport (a container may clip what overflows it).
		if out := eval[[]string](b, `[...document.querySelectorAll('.ant-card, input, button, .ant-select')]
			.filter(e => !e.closest('.ant-table, .ant-layout-sider, .ant-modal-wrap') && e.getBoundingClientRect().width > 0 && e.getBoundingClientRect().right > 361)
			.map(e => (e.id || e.className) + ' ends at ' + Math.round(e.getBoundingClientRect().right))`); len(out) > 0 {
			t.Errorf("%s: past the %d px viewport: %v", c.path, 360, out)
		}
	}
	b.checkClean(s.url)
}
