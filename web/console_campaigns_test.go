package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// The console's dashboard and campaign screens. Each step is a function of
// the browser and the site so a longer journey can call them in sequence on
// one signed-in browser.

var consoleAdminHeader = map[string]string{"Authorization": "Bearer " + consoleToken}

// consoleDashboardDraws signs user in (daily rebate: credits and quota) and
// makes n draws on activity 100301 through the API, and one random raffle
// that empties an award's stock, waiting until every
// award is settled (delivered or left for a person), so the figures stop
// moving.
func consoleDashboardDraws(b *browser, s *site, user string, n int) {
	b.t.Helper()
	if code, data := s.api("POST", "/api/v1/raffle/activity/calendar_sign_rebate?userId="+user, "", nil); code != "0000" {
		b.t.Fatalf("sign in %s: %s %s", user, code, data)
	}
	s.admin("POST", "/api/admin/v1/quota/grant", fmt.Sprintf(`{"id":"dashboard-%s","userId":%q,"activityId":100301,"total":%d,"day":%d,"month":%d}`, user, user, n, n, n))
	for i := range n {
		if code, data := s.api("POST", "/api/v1/raffle/activity/draw", fmt.Sprintf(`{"userId":%q,"activityId":100301}`, user), nil); code != "0000" {
			b.t.Fatalf("draw %d of %s: %s %s", i, user, code, data)
		}
	}
	// Strategy 100004 holds one unit of award 109 at rate 1: a random raffle
	// takes it, so one award's stock is empty (drawn in the alert colour).
	if code, data := s.api("POST", "/api/v1/raffle/strategy/random_raffle", `{"strategyId":100004}`, nil); code != "0000" {
		b.t.Fatalf("random raffle on 100004: %s %s", code, data)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, d := s.api("POST", "/api/v1/raffle/activity/query_user_award_list", fmt.Sprintf(`{"userId":%q,"activityId":100301,"size":100}`, user), nil)
		var list struct{ List []struct{ State string } }
		if err := json.Unmarshal(d, &list); err != nil {
			b.t.Fatalf("award list %s: %v", d, err)
		}
		settled := len(list.List) == n
		for _, a := range list.List {
			settled = settled && a.State != "create"
		}
		if settled {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("the %d awards of %s were never settled: %s", n, user, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// consoleDashboardFigures are the dashboard's key figures by data-testid and
// what GET stats answers for each.
func consoleDashboardFigures(b *browser, s *site) (shown, api map[string]string) {
	b.t.Helper()
	code, data := s.api("GET", "/api/admin/v1/stats", "", consoleAdminHeader)
	if code != "0000" {
		b.t.Fatalf("stats: %s %s", code, data)
	}
	var st struct {
		DrawsPerMinute   []struct{ Count int64 }
		Outbox           map[string]int64
		DeliveryFailures map[string]int64
		Funnel           struct{ SignIns, Quota, Draws, Awards, Delivered int64 }
		CreditsIssued    json.Number
		CreditsSpent     json.Number
		AwardStock       []struct{ Count, Left int64 }
	}
	if err := json.Unmarshal(data, &st); err != nil {
		b.t.Fatalf("stats %s: %v", data, err)
	}
	var hour, low int64
	for _, d := range st.DrawsPerMinute {
		hour += d.Count
	}
	for _, a := range st.AwardStock {
		if a.Count <= 0 || float64(a.Left) < 0.1*float64(a.Count) {
			low++
		}
	}
	money := func(n json.Number) string {
		f, err := n.Float64()
		if err != nil {
			b.t.Fatalf("amount %q: %v", n, err)
		}
		return fmt.Sprintf("%.2f", f)
	}
	api = map[string]string{
		"stat-draws-today":             fmt.Sprint(st.Funnel.Draws),
		"stat-draws-hour":              fmt.Sprint(hour),
		"stat-funnel-signIns":          fmt.Sprint(st.Funnel.SignIns),
		"stat-funnel-quota":            fmt.Sprint(st.Funnel.Quota),
		"stat-funnel-draws":            fmt.Sprint(st.Funnel.Draws),
		"stat-funnel-awards":           fmt.Sprint(st.Funnel.Awards),
		"stat-funnel-delivered":        fmt.Sprint(st.Funnel.Delivered),
		"stat-credits-issued":          money(st.CreditsIssued),
		"stat-credits-spent":           money(st.CreditsSpent),
		"stat-failures-failed":         fmt.Sprint(st.DeliveryFailures["failed"]),
		"stat-failures-pending_manual": fmt.Sprint(st.DeliveryFailures["pending_manual"]),
		"stat-outbox-create":           fmt.Sprint(st.Outbox["create"]),
		"stat-outbox-fail":             fmt.Sprint(st.Outbox["fail"]),
		"stat-outbox-completed":        fmt.Sprint(st.Outbox["completed"]),
	}
	shown = map[string]string{}
	for id := range api {
		text, found := b.textOf(`[data-testid="` + id + `"]`)
		if found {
			shown[id] = strings.ReplaceAll(text, ",", "")
		}
	}
	// The count of awards under 10 % is the alert hint's data-count.
	shown["stat-low-awards"] = eval[string](b, `document.querySelector('[data-testid="stat-low-awards"]')?.dataset.count ?? ""`)
	return shown, api
}

// consoleDashboardMatchesAPI opens the dashboard and waits until every key
// figure it shows equals what GET stats answers at the same moment (the
// dashboard refreshes by itself; nothing else moves once the draws are
// settled). It fails with the figures that differ.
func consoleDashboardMatchesAPI(b *browser, s *site, minDraws int) {
	b.t.Helper()
	b.click(`[data-testid="menu-dashboard"]`)
	b.waitText(`[data-testid="stat-draws-today"]`, fmt.Sprintf("at least %d draws today", minDraws), func(x string) bool {
		return x != "" && number(b.t, x) >= float64(minDraws)
	})
	var diff []string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		shown, api := consoleDashboardFigures(b, s)
		diff = diff[:0]
		for id, want := range api {
			if shown[id] != want {
				diff = append(diff, fmt.Sprintf("%s shows %q, API %q", id, shown[id], want))
			}
		}
		if len(diff) == 0 {
			if api["stat-funnel-draws"] == "0" || api["stat-funnel-signIns"] == "0" || api["stat-low-awards"] == "0" {
				b.t.Fatalf("the API reports no draws, sign-ins or empty stock after them: %v", api)
			}
			return
		}
	}
	b.shot("failure-" + strings.ReplaceAll(b.t.Name(), "/", "-"))
	b.t.Fatalf("dashboard figures differ from GET stats: %s", strings.Join(diff, "; "))
}

// consoleCampaignsOpen opens the campaign screen and waits for the stored
// campaign to be checked valid.
func consoleCampaignsOpen(b *browser) {
	b.t.Helper()
	b.click(`[data-testid="menu-campaigns"]`)
	b.do(chromedp.WaitVisible(chromedp.CSS(`[data-testid="campaign-editor"] .cm-content`)))
	b.waitText(`[data-testid="campaign-status"]`, "the stored campaign checked valid", is("No problems: the file can be applied."))
}

// consoleCampaignsLine returns the 1-based line of the stored campaign (GET
// campaign/export) that holds every one of parts, and its text.
func consoleCampaignsLine(b *browser, s *site, parts ...string) (int, string) {
	b.t.Helper()
	code, data := s.api("GET", "/api/admin/v1/campaign/export", "", consoleAdminHeader)
	var y string
	if err := json.Unmarshal(data, &y); code != "0000" || err != nil {
		b.t.Fatalf("export: %s %s", code, data)
	}
	for i, l := range strings.Split(y, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(l, p)
		}
		if all {
			return i + 1, l
		}
	}
	b.t.Fatalf("no line of the stored campaign holds %q", parts)
	return 0, ""
}

// consoleCampaignsEdit types replacement over the first occurrence of old on
// line (1-based) of the editor, as a person does: scroll the line into view,
// select old with the mouse's selection, and type. The line must be the one
// the editor's line-number gutter shows as line.
func consoleCampaignsEdit(b *browser, line int, old, replacement string) {
	b.t.Helper()
	js := fmt.Sprintf(`(() => {
		const scroller = document.querySelector('[data-testid="campaign-editor"] .cm-scroller');
		const find = () => {
			for (const g of scroller.querySelectorAll('.cm-lineNumbers .cm-gutterElement')) {
				if (g.textContent !== %[1]q) continue;
				const gb = g.getBoundingClientRect();
				for (const l of scroller.querySelectorAll('.cm-line')) {
					const lb = l.getBoundingClientRect();
					if (Math.abs(lb.top - gb.top) < 2) return l;
				}
			}
			return null;
		};
		let el = find();
		if (!el) {
			const first = scroller.querySelector('.cm-line');
			scroller.scrollTop = Math.max(0, (%[2]d - 6) * first.getBoundingClientRect().height);
			return 'scrolled';
		}
		el.scrollIntoView({block: 'center'});
		const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
		const text = el.textContent;
		const at = text.indexOf(%[3]q);
		if (at < 0) return 'missing: ' + text;
		let start = null, end = null, seen = 0;
		for (let n = walker.nextNode(); n; n = walker.nextNode()) {
			const len = n.nodeValue.length;
			if (start === null && at < seen + len) start = [n, at - seen];
			if (start !== null && at + %[4]d <= seen + len) { end = [n, at + %[4]d - seen]; break; }
			seen += len;
		}
		if (!start || !end) return 'no text nodes';
		document.querySelector('[data-testid="campaign-editor"] .cm-content').focus();
		document.getSelection().setBaseAndExtent(start[0], start[1], end[0], end[1]);
		return 'selected';
	})()`, fmt.Sprint(line), line, old, utf16Len(old))
	var state string
	for range 20 {
		state = eval[string](b, js)
		if state == "selected" {
			break
		}
		time.Sleep(150 * time.Millisecond)
	}
	if state != "selected" {
		b.t.Fatalf("select %q on line %d of the editor: %s", old, line, state)
	}
	time.Sleep(100 * time.Millisecond) // let the editor read the new selection
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, input.InsertText, input.InsertTextParams{Text: replacement}); err != nil {
		b.t.Fatalf("type %q: %v", replacement, err)
	}
}

// utf16Len is the length of s in UTF-16 units, as JavaScript counts.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// consoleCampaignsMarkedLine reads from the editor's DOM the line number
// beside the first error underline and beside the lint gutter's error
// marker, and the underlined text.
func consoleCampaignsMarkedLine(b *browser) (underline, marker int, text string) {
	b.t.Helper()
	v := eval[[]any](b, `(() => {
		const root = document.querySelector('[data-testid="campaign-editor"]');
		const lineAt = (el) => {
			if (!el) return -1;
			const r = el.getBoundingClientRect();
			const mid = r.top + r.height / 2;
			for (const g of root.querySelectorAll('.cm-lineNumbers .cm-gutterElement')) {
				const gb = g.getBoundingClientRect();
				if (gb.height > 0 && mid >= gb.top && mid < gb.bottom) return Number(g.textContent);
			}
			return -2;
		};
		const range = root.querySelector('.cm-lintRange-error');
		const marker = root.querySelector('.cm-lint-marker-error');
		return [lineAt(range), lineAt(marker && marker.closest('.cm-gutterElement')), range ? range.textContent : ''];
	})()`)
	return int(v[0].(float64)), int(v[1].(float64)), v[2].(string)
}

// consoleCampaignsErrorMarked edits the rate of the 小米台灯 award of strategy
// 100006 to "abc" and checks the server's problem is marked on that line in
// the editor (underline and gutter marker) and listed below it; clicking the
// listed problem puts the cursor on that line. It returns the line.
func consoleCampaignsErrorMarked(b *browser, s *site) int {
	b.t.Helper()
	line, text := consoleCampaignsLine(b, s, "小米台灯", "rate:")
	rate := text[strings.Index(text, "rate:")+len("rate:"):]
	rate = strings.TrimSpace(strings.FieldsFunc(rate, func(r rune) bool { return r == ',' || r == '}' })[0])
	consoleCampaignsEdit(b, line, "rate: "+rate, "rate: abc")
	b.waitText(`[data-testid="campaign-status"]`, "one problem", is("1 problem(s): fix them before applying."))
	if got := b.attr(`[data-testid="campaign-problem"]`, "data-line"); got != fmt.Sprint(line) {
		b.t.Fatalf("the listed problem is at line %s, want %d", got, line)
	}
	item, _ := b.textOf(`[data-testid="campaign-problems"] li`)
	if !strings.Contains(item, ".rate") || !strings.Contains(item, `"abc"`) {
		b.t.Fatalf("listed problem %q: want the rate path and the bad value", item)
	}
	var under, marker int
	var marked string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		under, marker, marked = consoleCampaignsMarkedLine(b)
		if under == line && marker == line && marked == "abc" {
			break
		}
		if time.Now().After(deadline) {
			b.shot("failure-" + strings.ReplaceAll(b.t.Name(), "/", "-"))
			b.t.Fatalf("error marked at line %d (gutter marker line %d) on %q, want line %d on \"abc\"", under, marker, marked, line)
		}
	}
	if !eval[bool](b, `document.querySelector('#campaign-apply').disabled`) {
		b.t.Fatal("apply is enabled with a problem in the file")
	}
	// Clicking the problem moves the cursor to it: the active line is the line.
	b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid="campaign-editor"] .cm-scroller').scrollTop = 0`))
	b.click(`[data-testid="campaign-problem"]`)
	b.waitText(`[data-testid="campaign-editor"] .cm-lineNumbers .cm-activeLineGutter`, fmt.Sprintf("the cursor on line %d", line), is(fmt.Sprint(line)))
	return line
}

// consoleCampaignsApplyTitle reverts the edit, renames the 小米台灯 award of
// strategy 100006 to title in the editor, checks the diff shows it, applies
// after confirming, and returns the revision applied (from the page's
// message) once GET export holds the new title.
func consoleCampaignsApplyTitle(b *browser, s *site, title string) string {
	b.t.Helper()
	b.click(`#campaign-revert`)
	b.waitText(`[data-testid="campaign-status"]`, "the stored campaign checked valid", is("No problems: the file can be applied."))
	line, _ := consoleCampaignsLine(b, s, "小米台灯", "rate:")
	consoleCampaignsEdit(b, line, "小米台灯", title)
	b.waitText(`[data-testid="campaign-status"]`, "the edit checked valid", is("No problems: the file can be applied."))
	b.waitText(`[data-testid="campaign-dirty"]`, "one changed line", is("Edited: 1 changed section(s), +1 / −1 lines."))
	b.click(`[data-testid="campaign-diff-tab"]`)
	b.waitText(`[data-testid="campaign-diff"] .cm-changedLine`, "the new title in the diff", func(x string) bool { return strings.Contains(x, title) })
	if del, _ := b.textOf(`[data-testid="campaign-diff"] .cm-deletedChunk`); !strings.Contains(del, "小米台灯") {
		b.t.Fatalf("the diff's deleted text %q lacks the old title", del)
	}
	b.click(`#campaign-apply`)
	b.waitText(`[data-testid="campaign-apply-body"]`, "the confirmation", func(x string) bool { return strings.Contains(x, "1 changed section(s)") })
	consoleCampaignsClickSteady(b, `#campaign-apply-ok`)
	applied := b.waitText(`[data-testid="campaign-applied"]`, "the applied message", func(x string) bool { return strings.HasPrefix(x, "Applied: revision ") })
	revision := strings.TrimSuffix(strings.TrimPrefix(applied, "Applied: revision "), ".")
	b.waitText(`[data-testid="campaign-dirty"]`, "the editor back on the stored campaign", is("Same as the stored campaign."))
	if l, text := consoleCampaignsLine(b, s, title); l != line || !strings.Contains(text, "rate:") {
		b.t.Fatalf("export: new title on line %d (%q), want line %d", l, text, line)
	}
	return revision
}

// consoleCampaignsClickSteady clicks sel, a dialog's button, once the dialog
// has stopped moving (its opening animation moves the button under the
// pointer) and no animation runs in it. On a busy machine the renderer may
// draw no frame between two looks, so a still position alone does not prove
// the animation over. A click that the dialog did not take (it is still open
// and the button shows no progress) is made again, at most three times:
// while the button works or once the dialog closed, the first click counted.
func consoleCampaignsClickSteady(b *browser, sel string) {
	b.t.Helper()
	b.do(chromedp.WaitVisible(chromedp.CSS(sel)))
	state := fmt.Sprintf(`(() => {
		const el = document.querySelector(%q);
		if (!el) return 'gone';
		const root = el.closest('.ant-modal-root') || document.body;
		const moving = root.getAnimations({ subtree: true }).filter((a) => a.playState !== 'finished' && a.playState !== 'idle').length;
		const r = el.getBoundingClientRect();
		return [r.x, r.y, r.width, r.height, moving, el.classList.contains('ant-btn-loading')].join(',');
	})()`, sel)
	for attempt := 1; ; attempt++ {
		last := ""
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			now := eval[string](b, state)
			if now == "gone" {
				return
			}
			if now == last && strings.HasSuffix(now, ",0,false") {
				break
			}
			if time.Now().After(deadline) {
				b.t.Fatalf("%s never stopped moving (%s)", sel, now)
			}
			last = now
		}
		b.click(sel)
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if now := eval[string](b, state); now == "gone" || strings.HasSuffix(now, ",true") {
				return
			}
		}
		if attempt == 3 {
			b.t.Fatalf("%s: three clicks, and the dialog neither closed nor began", sel)
		}
		b.t.Logf("%s: the dialog did not take click %d; clicking again", sel, attempt)
	}
}

// consoleCampaignsLotteryShows opens the lottery page of xiaofuge on 100301
// (strategy 100006) and waits for award 104 to carry title.
func consoleCampaignsLotteryShows(b *browser, s *site, title string) {
	b.t.Helper()
	b.open(s.url + "/?userId=xiaofuge&activityId=100301")
	b.waitText(`[data-award-id="104"]`, "award 104 with its new title", func(x string) bool { return strings.Contains(x, title) })
}

// consoleCampaignsRevisionListed opens the campaign screen and checks the
// newest applied revision is revision, by actor, saying what it upserted.
func consoleCampaignsRevisionListed(b *browser, s *site, revision, actor string) {
	b.t.Helper()
	b.open(s.url + "/admin/campaigns")
	row := b.waitText(`#campaign-revisions tbody tr[data-row-key]`, "revision "+revision+" first", func(x string) bool { return strings.HasPrefix(x, revision) })
	if !strings.Contains(row, actor) || !strings.Contains(row, "strateg") {
		b.t.Fatalf("newest revision row %q: want actor %q and what changed", row, actor)
	}
	if strings.Contains(row, consoleToken) {
		b.t.Fatalf("the revision list shows the token: %q", row)
	}
}

// TestConsoleCampaigns walks the dashboard and the campaign editor: after
// draws through the API the dashboard's figures equal GET stats; a bad rate is
// marked on its line; a new award title applied after confirming shows on
// the lottery page and in the revision history with the actor's name.
func TestConsoleCampaigns(t *testing.T) {
	s := newSite(t, nil)
	b := newBrowser(t, 1280, 900, false, false)
	signInConsole(b, s, "/admin/dashboard", consoleToken)

	const draws = 4
	consoleDashboardDraws(b, s, "dash-user", draws)
	consoleDashboardMatchesAPI(b, s, draws)
	b.shot("console-dashboard")

	consoleCampaignsOpen(b)
	consoleCampaignsErrorMarked(b, s)
	b.shot("console-campaign-error")

	const title = "护眼台灯 Pro"
	revision := consoleCampaignsApplyTitle(b, s, title)
	consoleCampaignsLotteryShows(b, s, title)
	consoleCampaignsRevisionListed(b, s, revision, "admin")
	b.checkClean(s.url)
}

// consoleFitsWidth fails when the page is wider than the window (a phone
// would scroll sideways) or the screen's title is cut short.
func consoleFitsWidth(b *browser, what, title string) {
	b.t.Helper()
	if w := eval[[]any](b, `[document.documentElement.scrollWidth, window.innerWidth]`); w[0].(float64) > w[1].(float64) {
		b.t.Fatalf("%s: the page is %v px wide in a %v px window", what, w[0], w[1])
	}
	head := eval[[]any](b, `(() => { const h = document.querySelector('.ant-card-head-title'); return [h.textContent, h.scrollWidth <= h.clientWidth]; })()`)
	if head[0] != title || head[1] != true {
		b.t.Fatalf("%s: the screen's title %q is cut short (want %q in full)", what, head[0], title)
	}
}

// TestConsoleCampaignsPhone: at a phone's width (360 px) the dashboard and the
// campaign editor fit the window with their titles in full, and the editor reports the stored campaign
// valid with its apply button in reach.
func TestConsoleCampaignsPhone(t *testing.T) {
	s := newSite(t, nil)
	b := newBrowser(t, 360, 740, true, false)
	signInConsole(b, s, "/admin/dashboard", consoleToken)
	b.waitText(`[data-testid="stat-funnel-draws"]`, "the funnel", is("0"))
	consoleFitsWidth(b, "dashboard", "Dashboard")
	b.open(s.url + "/admin/campaigns")
	b.waitText(`[data-testid="campaign-status"]`, "the stored campaign checked valid", is("No problems: the file can be applied."))
	b.do(chromedp.WaitVisible(chromedp.CSS(`[data-testid="campaign-editor"] .cm-content`)), chromedp.WaitVisible(chromedp.CSS(`#campaign-apply`)))
	consoleFitsWidth(b, "campaigns", "Campaign")
	b.checkClean(s.url)
}
