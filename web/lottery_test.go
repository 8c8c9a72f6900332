package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/bigmarket/bigmarket/internal/auth"
	"github.com/bigmarket/bigmarket/internal/campaign"
	"github.com/bigmarket/bigmarket/internal/config"
)

const (
	drawsTotal = `[data-testid="draws-total"]`
	credits    = `[data-testid="credits"]`
	signIn     = `[data-testid="sign-in"]`
	drawButton = `[data-testid="draw"]`
	notice     = `[data-testid="notice"]`
	result     = `[data-testid="result"] .result`
)

func is(want string) func(string) bool { return func(s string) bool { return s == want } }

// TestLotteryJourney walks what a person does on the lottery page: load as
// xiaofuge on 100301 → sign in → draw on the grid → the dialog names the prize
// the API returned → draws left drop by one and the tier progress moves →
// exchange the cheapest SKU → balance and draws change → the prize is in "my
// prizes". No request leaves the server's origin; the page logs no error.
func TestLotteryJourney(t *testing.T) {
	s := newSite(t, nil)
	b := newBrowser(t, 1280, 900, false, false)
	b.open(s.url + "/?userId=xiaofuge&activityId=100301")

	b.waitText(`[data-testid="user"]`, "the user id", is("xiaofuge"))
	b.waitText(`[data-testid="activity-name"]`, "the activity's name", is("测试活动"))
	b.waitText(drawsTotal, "the granted draws", is("100"))
	b.waitText(`[data-testid="tier-10"]`, "no progress yet", func(x string) bool { return strings.HasPrefix(x, "0 / 10 draws") })
	if lock := b.waitText(`[data-testid="lock-105"]`, "a lock badge", func(string) bool { return true }); lock != "3 more draws to unlock" {
		t.Fatalf("lock badge of award 105: %q", lock)
	}
	if got := b.attr(`[data-board]`, "data-board"); got != "grid" {
		t.Fatalf("board %q, want the grid by default", got)
	}

	// Before signing in the shop says why nothing can be bought.
	if why := b.waitText(`[data-testid="sku-9014"] .why`, "the reason", func(x string) bool { return x != "" }); why != "Needs 5.00 credits; you have 0.00." {
		t.Fatalf("reason on SKU 9014: %q", why)
	}
	if !eval[bool](b, `document.querySelector('[data-testid="sku-9014"] button').disabled`) {
		t.Fatal("SKU 9014 can be exchanged without credits")
	}

	// Sign in: the button turns to signed, the credits arrive.
	b.waitText(signIn, "the sign-in button", is("Sign in"))
	b.click(signIn)
	b.waitText(signIn, "the signed state", is("Signed in today"))
	if !eval[bool](b, `document.querySelector('[data-testid="sign-in"]').disabled`) {
		t.Fatal("the sign-in button is still enabled after signing in")
	}
	b.waitText(credits, "the sign-in credits", is("10.00"))

	// Draw on the grid: a double click draws once.
	b.do()
	eval[bool](b, `(() => { const d = document.querySelector('[data-testid="draw"]'); d.click(); d.click(); return true; })()`)
	b.waitText(`[data-testid="result-title"]`, "the result dialog", func(x string) bool { return x != "" })
	awardID := b.attr(result, "data-award-id")
	title, _ := b.textOf(`[data-testid="result-title"]`)
	if stopped := b.attr(`[data-board]`, "data-stopped-award"); stopped != awardID {
		t.Fatalf("the grid stopped on award %q, the dialog names %s", stopped, awardID)
	}
	b.shot("lottery-result")
	code, data := s.api("POST", "/api/v1/raffle/activity/query_user_award_list", `{"userId":"xiaofuge","activityId":100301,"size":10}`, nil)
	var records struct {
		List []struct {
			AwardID    int64
			AwardTitle string
		}
	}
	if err := json.Unmarshal(data, &records); code != "0000" || err != nil || len(records.List) != 1 {
		t.Fatalf("award list after one click pair: %s %s, want exactly one record (a double click draws once)", code, data)
	}
	if fmt.Sprint(records.List[0].AwardID) != awardID || records.List[0].AwardTitle != title {
		t.Fatalf("dialog names award %s %q; the API returned %d %q", awardID, title, records.List[0].AwardID, records.List[0].AwardTitle)
	}
	b.do()
	b.click(`[data-testid="result"] button`)
	b.waitText(drawsTotal, "one draw fewer", is("99"))
	b.waitText(`[data-award-id="107"]`, "award 107 (rule_lock 1) to unlock live", func(x string) bool { return strings.Contains(x, "Unlocked") })
	b.waitText(`[data-testid="lock-106"]`, "award 106 one draw closer", is("1 more draws to unlock"))
	b.waitText(`[data-testid="tier-10"]`, "the tier progress to move", func(x string) bool { return strings.HasPrefix(x, "1 / 10 draws") })
	b.waitText(`[data-testid="my-prizes"] li`, "the prize in my prizes", func(x string) bool { return strings.Contains(x, title) })

	// Exchange the cheapest SKU (9014: 1 draw for 5.00 credits) once the
	// prize's delivery has settled the balance the page shows.
	for deadline := time.Now().Add(15 * time.Second); ; {
		_, d := s.api("POST", "/api/v1/raffle/activity/query_user_award_list", `{"userId":"xiaofuge","activityId":100301}`, nil)
		if !strings.Contains(string(d), `"state":"create"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the prize was never delivered: %s", d)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var balance string
	for deadline := time.Now().Add(15 * time.Second); ; {
		_, d := s.api("POST", "/api/v1/raffle/activity/query_user_credit_account?userId=xiaofuge", "", nil)
		balance = string(d)
		b.click(`[data-testid="refresh"]`)
		shown, _ := b.textOf(credits)
		if shown == balance && number(t, balance) >= 10 {
			_, d2 := s.api("POST", "/api/v1/raffle/activity/query_user_credit_account?userId=xiaofuge", "", nil)
			if string(d2) == balance {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("page shows %q credits, API %s", shown, balance)
		}
		time.Sleep(200 * time.Millisecond)
	}
	before := number(t, balance)
	b.click(`[data-testid="sku-9014"] button`)
	b.waitText(`[data-testid="confirm"] .dialog-body`, "the confirmation", func(x string) bool { return strings.Contains(x, "Exchange 5.00 credits for 1 draw?") })
	b.click(`[data-testid="confirm-ok"]`)
	want := fmt.Sprintf("%.2f", before-5)
	b.waitText(credits, "the balance down by 5.00 to "+want, is(want))
	b.waitText(drawsTotal, "the bought draw", is("100"))
	b.waitText(`[data-testid="my-credits"] li`, "the exchange in the ledger", func(x string) bool { return strings.Contains(x, "Exchange") && strings.Contains(x, "-5.00") })
	b.waitText(notice, "the exchange message", func(x string) bool { return strings.Contains(x, "Exchanged: 1 draw added") })
	b.shot("lottery-desktop")
	b.checkClean(s.url)
}

// TestNoQuotaMessage: a user without draws sees why in the page, and the board
// stays usable.
func TestNoQuotaMessage(t *testing.T) {
	s := newSite(t, nil)
	b := newBrowser(t, 1024, 800, false, true)
	b.open(s.url + "/?userId=newcomer&activityId=100301")
	b.waitText(drawsTotal, "no draws", is("0"))
	b.click(drawButton)
	msg := b.waitText(notice, "the no-draws message", func(x string) bool { return strings.Contains(x, "No draws left") })
	if !strings.Contains(msg, "Sign in or exchange credits") {
		t.Fatalf("message %q: want what to do about it", msg)
	}
	if code := b.attr(notice, "data-code"); code != "ERR_BIZ_006" {
		t.Fatalf("notice code %q", code)
	}
	b.waitText(drawButton, "the board usable again", is("Draw"))
	if eval[bool](b, `(() => { const d = document.querySelector('[data-testid="draw"]'); return d.disabled || d.getAttribute('aria-disabled') === 'true'; })()`) {
		t.Fatal("draw button left disabled after a failed draw")
	}
	// Switching to the wheel works and is remembered.
	b.click(`[data-testid="board-wheel"]`)
	if got := b.attr(`[data-board]`, "data-board"); got != "wheel" {
		t.Fatalf("board %q after choosing the wheel", got)
	}
	b.open(s.url + "/?userId=newcomer&activityId=100301")
	b.waitText(drawsTotal, "the page again", is("0"))
	if got := b.attr(`[data-board]`, "data-board"); got != "wheel" {
		t.Fatalf("board %q after a reload, want the remembered wheel", got)
	}
	// The same message in Chinese.
	b.click(`header button`)
	b.click(drawButton)
	b.waitText(notice, "the Chinese message", func(x string) bool { return strings.Contains(x, "抽奖次数已用完") })
	b.shot("lottery-no-quota-zh")
	b.checkClean(s.url)
}

// TestPausedMessage: with the degrade switch on, a draw shows the paused
// message in the page.
func TestPausedMessage(t *testing.T) {
	s := newSite(t, nil)
	b := newBrowser(t, 1024, 800, false, true)
	b.open(s.url + "/?userId=xiaofuge&activityId=100301")
	b.waitText(drawsTotal, "the granted draws", is("100"))
	s.admin("PUT", "/api/admin/v1/switches", `{"key":"degradeSwitch","value":"open"}`)
	b.click(drawButton)
	b.waitText(notice, "the paused message", func(x string) bool { return strings.Contains(x, "paused") })
	if code := b.attr(notice, "data-code"); code != "0004" {
		t.Fatalf("notice code %q, want 0004", code)
	}
	b.waitText(drawsTotal, "no draw taken", is("100"))
	s.admin("PUT", "/api/admin/v1/switches", `{"key":"degradeSwitch","value":"close"}`)
	b.click(drawButton)
	b.waitText(`[data-testid="result-title"]`, "a draw once resumed", func(x string) bool { return x != "" })
	b.checkClean(s.url)
}

// TestPhoneViewport: on a 390×844 phone the whole board shows without
// horizontal scrolling.
func TestPhoneViewport(t *testing.T) {
	s := newSite(t, nil)
	b := newBrowser(t, 390, 844, true, true)
	b.open(s.url + "/?userId=xiaofuge&activityId=100301")
	b.waitText(drawsTotal, "the granted draws", is("100"))
	b.do()
	time.Sleep(300 * time.Millisecond) // the canvas draws its images
	sizes := eval[map[string]float64](b, `(() => {
		const c = document.querySelector('.board-canvas canvas').getBoundingClientRect();
		return { scroll: document.documentElement.scrollWidth, inner: window.innerWidth, left: c.left, right: c.right, width: c.width };
	})()`)
	if sizes["scroll"] > sizes["inner"] {
		t.Errorf("page %v px wide in a %v px viewport: horizontal scrolling", sizes["scroll"], sizes["inner"])
	}
	if sizes["left"] < 0 || sizes["right"] > sizes["inner"] || sizes["width"] < 240 {
		t.Errorf("board at %v…%v (%v px) in a %v px viewport", sizes["left"], sizes["right"], sizes["width"], sizes["inner"])
	}
	b.shot("lottery-phone")

	// The narrowest phone the page supports: 360 px.
	if _, err := chromedp.Call(b.ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
		Width: 360, Height: 740, DeviceScaleFactor: 1, Mobile: true,
	}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // the board measures itself again
	sizes = eval[map[string]float64](b, `(() => {
		const c = document.querySelector('.board-canvas canvas').getBoundingClientRect();
		return { scroll: document.documentElement.scrollWidth, inner: window.innerWidth, left: c.left, right: c.right, width: c.width };
	})()`)
	if sizes["inner"] != 360 || sizes["scroll"] > sizes["inner"] || sizes["left"] < 0 || sizes["right"] > sizes["inner"] {
		t.Errorf("at 360 px: page %v px wide, board at %v…%v in a %v px viewport", sizes["scroll"], sizes["left"], sizes["right"], sizes["inner"])
	}
	b.checkClean(s.url)
}

// TestTokenMode: with a user JWT in the fragment the page draws through the
// _by_token endpoints only; a bare userId is refused.
func TestTokenMode(t *testing.T) {
	const secret = "a-secret-of-at-least-32-bytes-long!!"
	s := newSite(t, func(c *config.Config) {
		c.Auth.Mode = config.AuthToken
		c.Auth.JWTSecret = secret
		c.Auth.AppTokens = []string{"partner-app-token-0123456789"}
	})
	tok, err := auth.Issue([]byte(secret), "xiaofuge", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, 1024, 800, false, true)
	b.open(s.url + "/?activityId=100301#token=" + tok)
	b.waitText(`[data-testid="user"]`, "the token's user", is("xiaofuge"))
	b.waitText(drawsTotal, "the token user's draws", is("100"))
	if loc := eval[string](b, `location.href`); strings.Contains(loc, tok) {
		t.Errorf("the token stays in the address bar: %s", loc)
	}
	b.click(drawButton)
	b.waitText(`[data-testid="result-title"]`, "a draw by token", func(x string) bool { return x != "" })
	b.waitText(drawsTotal, "one draw fewer", is("99"))
	userEndpoints := []string{"draw", "query_user_activity_account", "query_raffle_award_list", "query_user_credit_account",
		"is_calendar_sign_rebate", "query_user_award_list", "query_user_credit_ledger", "query_raffle_strategy_rule_weight"}
	seen := map[string]bool{}
	for _, u := range b.requests() {
		if strings.Contains(u, tok) {
			t.Errorf("the token is in a request line: %s", u)
		}
		path, _, _ := strings.Cut(strings.TrimPrefix(u, s.url), "?")
		name := path[strings.LastIndex(path, "/")+1:]
		for _, e := range userEndpoints {
			if name == e {
				t.Errorf("token mode called the plain endpoint %s", path)
			}
			if name == e+"_by_token" {
				seen[e] = true
			}
		}
	}
	for _, e := range userEndpoints {
		if !seen[e] {
			t.Errorf("token mode never called %s_by_token", e)
		}
	}
	b.checkClean(s.url)

	// A bare userId in token mode: the plain endpoints refuse it (0003), and
	// the page says so.
	b2 := newBrowser(t, 1024, 800, false, true)
	b2.open(s.url + "/?userId=xiaofuge&activityId=100301")
	b2.waitText(notice, "the refusal", func(x string) bool { return x != "" })
	if code := b2.attr(notice, "data-code"); code != "0003" {
		t.Fatalf("bare userId in token mode: notice code %q, want 0003", code)
	}
	if got, _ := b2.textOf(drawsTotal); got != "–" {
		t.Fatalf("bare userId in token mode shows draws %q", got)
	}
}

// TestKeyboardAndIdentityForm: without a userId the page asks for one, and
// with several open activities which one; the
// whole draw works from the keyboard, the result is announced through the
// live region, and Escape closes the dialog.
func TestKeyboardAndIdentityForm(t *testing.T) {
	s := newSite(t, nil)
	b := newBrowser(t, 1024, 800, false, true)
	b.open(s.url + "/")
	b.do(chromedp.WaitVisible(chromedp.CSS(`input[name="userId"]`)))
	b.do(typeInto(`input[name="userId"]`, "xiaofuge\r"))
	// Two activities are open: the page asks which.
	b.waitText(`[data-testid="choose-activity"] li`, "the first open activity", func(x string) bool { return strings.Contains(x, "测试活动") })
	b.click(`[data-testid="choose-activity"] li button`)
	b.waitText(drawsTotal, "the granted draws", is("100"))
	if loc := eval[string](b, `location.search`); loc != "?userId=xiaofuge&activityId=100301" {
		t.Errorf("address after the form: %q", loc)
	}
	eval[bool](b, `(document.querySelector('[data-testid="draw"]').focus(), true)`)
	b.do(chromedp.KeyEvent("\r"))
	title := b.waitText(`[data-testid="result-title"]`, "the result dialog", func(x string) bool { return x != "" })
	if focused := eval[string](b, `document.activeElement.closest('[role="dialog"]') ? 'dialog' : document.activeElement.tagName`); focused != "dialog" {
		t.Errorf("focus is on %s, want inside the result dialog", focused)
	}
	b.waitText(`[data-testid="live"]`, "the result announced", func(x string) bool { return strings.Contains(x, title) })
	b.do(chromedp.KeyEvent(kb.Escape))
	b.do(chromedp.WaitNotPresent(chromedp.CSS(`[data-testid="result"]`)))
	if focused := eval[string](b, `document.activeElement.dataset.testid ?? ""`); focused != "draw" {
		t.Errorf("focus after closing the dialog is on %q, want back on the draw button", focused)
	}
	b.checkClean(s.url)
}

// TestActivityNotStartedOrEnded: an activity outside its period shows its state
// instead of a board.
func TestActivityNotStartedOrEnded(t *testing.T) {
	s := newSite(t, nil)
	demo := string(campaign.Demo())
	for _, c := range []struct{ from, to string }{
		{`begin: "2024-10-06T12:09:34+08:00", end: "2036-10-06T12:09:34+08:00"`, `begin: "2035-01-01T00:00:00+08:00", end: "2036-10-06T12:09:34+08:00"`},
		{`begin: "2024-03-09T10:15:10+08:00", end: "2036-03-09T10:15:10+08:00"`, `begin: "2024-03-09T10:15:10+08:00", end: "2025-03-09T10:15:10+08:00"`},
	} {
		if !strings.Contains(demo, c.from) {
			t.Fatalf("demo campaign has no %s", c.from)
		}
		demo = strings.Replace(demo, c.from, c.to, 1)
	}
	s.admin("POST", "/api/admin/v1/campaign/apply", demo)
	b := newBrowser(t, 1024, 800, false, true)
	b.open(s.url + "/?userId=xfg&activityId=100401")
	b.waitText(`[data-testid="activity-state"]`, "not started", is("This activity has not started yet."))
	b.waitText(`[data-testid="period"]`, "a countdown", func(x string) bool { return strings.Contains(x, "Starts in") })
	b.open(s.url + "/?userId=xiaofuge&activityId=100301")
	b.waitText(`[data-testid="activity-state"]`, "ended", is("This activity has ended."))
	if n := eval[int](b, `document.querySelectorAll('[data-testid="draw"]').length`); n != 0 {
		t.Errorf("an ended activity shows a draw button")
	}
	b.checkClean(s.url)
}

// TestTokenByPostMessage: a host app that frames the page from its own origin
// waits for the page's bigmarket:ready message and passes the user's JWT by
// postMessage; the page then calls the _by_token
// endpoints (the plain ones never), and the token never appears in a request
// line. The frame is cross-origin, so the test reads what the page does from
// its requests.
func TestTokenByPostMessage(t *testing.T) {
	const secret = "a-secret-of-at-least-32-bytes-long!!"
	s := newSite(t, func(c *config.Config) {
		c.Auth.Mode = config.AuthToken
		c.Auth.JWTSecret = secret
		c.Auth.AppTokens = []string{"partner-app-token-0123456789"}
	})
	tok, err := auth.Issue([]byte(secret), "xiaofuge", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><iframe id="f" src="%s/?activityId=100301" style="width:1000px;height:1400px"></iframe>
<script>
const f = document.getElementById('f');
window.addEventListener('message', (e) => {
  if (e.source === f.contentWindow && e.data && e.data.type === 'bigmarket:ready') {
    f.contentWindow.postMessage({type: 'bigmarket:token', token: %q}, '*');
  }
});
</script>`, s.url, tok)
	}))
	t.Cleanup(host.Close)

	// The frame in the host's process, so that its requests are observed.
	b := newBrowser(t, 1100, 1500, false, true, chromedp.Flag("disable-features", "IsolateOrigins,site-per-process"))
	b.open(host.URL)
	byToken := func() map[string]bool {
		seen := map[string]bool{}
		for _, u := range b.requests() {
			if strings.Contains(u, tok) {
				t.Fatalf("the token is in a request line: %s", u)
			}
			path, _, _ := strings.Cut(strings.TrimPrefix(u, s.url), "?")
			name := path[strings.LastIndex(path, "/")+1:]
			if strings.HasSuffix(name, "_by_token") {
				seen[strings.TrimSuffix(name, "_by_token")] = true
			}
			if name == "query_user_activity_account" || name == "query_raffle_award_list" || name == "draw" {
				t.Fatalf("the framed page called the plain endpoint %s", path)
			}
		}
		return seen
	}
	deadline := time.Now().Add(20 * time.Second)
	for !byToken()["query_user_activity_account"] || !byToken()["query_raffle_award_list"] {
		if time.Now().After(deadline) {
			t.Fatalf("the framed page never called the _by_token endpoints after the host posted the token; requests: %v", b.requests())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
