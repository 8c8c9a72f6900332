package web_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// The dashboard's draw answers by code: draws refused (no quota, degraded)
// leave no record, so only the shared per-minute answer counts show them.

// codesStats is GET stats' drawCodes summed over the hour and its
// drawsPerSecond, by code.
func codesStats(b *browser, s *site) (hour map[string]int64, perSecond map[string]float64) {
	b.t.Helper()
	code, data := s.api("GET", "/api/admin/v1/stats", "", consoleAdminHeader)
	if code != "0000" {
		b.t.Fatalf("stats: %s %s", code, data)
	}
	var st struct {
		DrawCodes      []struct{ Counts map[string]int64 }
		DrawsPerSecond map[string]float64
	}
	if err := json.Unmarshal(data, &st); err != nil {
		b.t.Fatalf("stats %s: %v", data, err)
	}
	hour = map[string]int64{}
	for _, m := range st.DrawCodes {
		for c, n := range m.Counts {
			hour[c] += n
		}
	}
	return hour, st.DrawsPerSecond
}

// codesDraws makes draws through the API that answer 0000 (the user's n
// granted draws), ERR_BIZ_006 (two past the quota) and 0004 (two while the
// degrade switch is on, turned off again after), and waits until GET stats
// counts every answer. It returns the answers by code.
func codesDraws(b *browser, s *site, user string, n int) map[string]int64 {
	b.t.Helper()
	s.admin("POST", "/api/admin/v1/quota/grant", fmt.Sprintf(`{"id":"codes-%s","userId":%q,"activityId":100301,"total":%d,"day":%d,"month":%d}`, user, user, n, n, n))
	answers := map[string]int64{}
	draw := func(want string) {
		code, data := s.api("POST", "/api/v1/raffle/activity/draw", fmt.Sprintf(`{"userId":%q,"activityId":100301}`, user), nil)
		if code != want {
			b.t.Fatalf("draw of %s: %s %s, want %s", user, code, data, want)
		}
		answers[code]++
	}
	for range n {
		draw("0000")
	}
	draw("ERR_BIZ_006")
	draw("ERR_BIZ_006")
	s.admin("PUT", "/api/admin/v1/switches", `{"key":"degradeSwitch","value":"open"}`)
	draw("0004")
	draw("0004")
	s.admin("PUT", "/api/admin/v1/switches", `{"key":"degradeSwitch","value":"close"}`)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		hour, _ := codesStats(b, s)
		if maps.Equal(hour, answers) {
			return answers
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("GET stats counts %v, want the answers given %v", hour, answers)
		}
	}
}

// codesFigures reads the dashboard's per-code figures: the rate of each code
// shown and its count of the hour, and the total rate.
func codesFigures(b *browser) (rates map[string]string, hour map[string]string, total string) {
	b.t.Helper()
	v := eval[map[string]any](b, `(() => {
		const rates = {}, hour = {};
		for (const e of document.querySelectorAll('[data-testid^="stat-code-hour-"]')) hour[e.dataset.testid.slice(15)] = e.dataset.count;
		for (const e of document.querySelectorAll('[data-testid^="stat-code-"]')) {
			const id = e.dataset.testid;
			if (!id.startsWith('stat-code-hour-')) rates[id.slice(10)] = e.textContent.trim();
		}
		const t = document.querySelector('[data-testid="stat-codes-per-second"]');
		return { rates, hour, total: t ? t.textContent.trim() : '' };
	})()`)
	rates, hour = map[string]string{}, map[string]string{}
	for k, x := range v["rates"].(map[string]any) {
		rates[k] = fmt.Sprint(x)
	}
	for k, x := range v["hour"].(map[string]any) {
		hour[k] = fmt.Sprint(x)
	}
	return rates, hour, fmt.Sprint(v["total"])
}

// consoleDashboardCodesMatchAPI waits until the dashboard's per-code figures
// (rate of the last full minute, count of the hour, total rate) equal what
// GET stats answers at the same moment, and returns the codes shown.
func consoleDashboardCodesMatchAPI(b *browser, s *site) []string {
	b.t.Helper()
	var diff []string
	for deadline := time.Now().Add(25 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		rates, hour, total := codesFigures(b)
		apiHour, apiRate := codesStats(b, s)
		wantRates, wantHour := map[string]string{}, map[string]string{}
		var sum float64
		for c, n := range apiHour {
			wantHour[c] = fmt.Sprint(n)
			wantRates[c] = "0.00"
		}
		for c, r := range apiRate {
			wantRates[c] = fmt.Sprintf("%.2f", r)
			sum += r
			if _, ok := wantHour[c]; !ok {
				wantHour[c] = "0"
			}
		}
		diff = diff[:0]
		if !maps.Equal(rates, wantRates) {
			diff = append(diff, fmt.Sprintf("rates shown %v, API %v", rates, wantRates))
		}
		if !maps.Equal(hour, wantHour) {
			diff = append(diff, fmt.Sprintf("hour counts shown %v, API %v", hour, wantHour))
		}
		if want := fmt.Sprintf("%.2f", sum); total != want {
			diff = append(diff, fmt.Sprintf("total rate shown %q, API %q", total, want))
		}
		if len(diff) == 0 {
			return slices.Sorted(maps.Keys(hour))
		}
	}
	b.shot("failure-" + strings.ReplaceAll(b.t.Name(), "/", "-"))
	b.t.Fatalf("dashboard draw answers differ from GET stats: %s", strings.Join(diff, "; "))
	return nil
}

// TestConsoleDashboardCodes: after draws answering 0000, ERR_BIZ_006 and
// 0004 through the API, the dashboard shows a figure per code whose rate and
// hourly count equal GET stats', named in English and in Chinese, with the
// chart of answers per minute by code.
func TestConsoleDashboardCodes(t *testing.T) {
	s := newSite(t, nil)
	b := newBrowser(t, 1280, 900, false, false)
	answers := codesDraws(b, s, "codes-user", 3)
	signInConsole(b, s, "/admin/dashboard", consoleToken)
	b.waitText(`[data-testid="stat-code-hour-ERR_BIZ_006"]`, "the refused draws' count", is("2 in the last hour"))
	codes := consoleDashboardCodesMatchAPI(b, s)
	if want := slices.Sorted(maps.Keys(answers)); !slices.Equal(codes, want) {
		t.Fatalf("codes shown %v, want %v", codes, want)
	}
	figures, _ := b.textOf(`[data-testid="code-figures"]`)
	for _, name := range []string{"Success", "No quota left", "Degraded"} {
		if !strings.Contains(figures, name) {
			t.Errorf("the figures %q do not name %q", figures, name)
		}
	}
	if canvas := eval[bool](b, `!!document.querySelector('[data-testid="chart-codes"] canvas')`); !canvas {
		t.Error("no chart of answers by code")
	}
	b.shot("console-dashboard-codes")

	// The same figures in Chinese.
	eval[bool](b, `(() => { localStorage.setItem('bigmarket.lang', 'zh-CN'); return true; })()`)
	b.open(s.url + "/admin/dashboard")
	b.waitText(`[data-testid="stat-code-hour-0004"]`, "the degraded draws in Chinese", is("近一小时 2 次"))
	figures, _ = b.textOf(`[data-testid="code-figures"]`)
	for _, name := range []string{"成功", "总次数不足", "已降级"} {
		if !strings.Contains(figures, name) {
			t.Errorf("the Chinese figures %q do not name %q", figures, name)
		}
	}
	consoleDashboardCodesMatchAPI(b, s)
	b.checkClean(s.url)
}
