package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/bigmarket/bigmarket/internal/app/apptest"
	"github.com/bigmarket/bigmarket/internal/config"
)

// chromium finds Debian's Chromium. Without it the browser tests skip, unless
// BIGMARKET_REQUIRE_BROWSER=1 (CI), where they fail.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("BIGMARKET_REQUIRE_BROWSER") == "1" {
		t.Fatal("no Chromium found and BIGMARKET_REQUIRE_BROWSER=1: install Debian's chromium package")
	}
	t.Skip("no Chromium found (apt-get install chromium); set BIGMARKET_REQUIRE_BROWSER=1 to fail instead")
	return ""
}

// site is a real bigmarket server (embedded mode, demo campaign) on loopback.
type site struct {
	t   *testing.T
	url string
	h   http.Handler
}

func newSite(t *testing.T, mutate func(*config.Config)) *site {
	t.Helper()
	a := apptest.New(t, mutate)
	a.Start()
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return &site{t: t, url: srv.URL, h: a.Handler()}
}

// api calls the server's API and returns the envelope's code and data.
func (s *site) api(method, path, body string, header map[string]string) (string, json.RawMessage) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var env struct {
		Code string
		Data json.RawMessage
	}
	if err := json.Unmarshal(b, &env); err != nil {
		s.t.Fatalf("%s %s: %s", method, path, b)
	}
	return env.Code, env.Data
}

func (s *site) admin(method, path, body string) {
	s.t.Helper()
	if code, data := s.api(method, path, body, map[string]string{"Authorization": "Bearer test-admin"}); code != "0000" {
		s.t.Fatalf("admin %s %s: %s %s", method, path, code, data)
	}
}

// browser is one headless Chromium tab with a fresh profile. It records every
// request URL and every console error or exception (a CSP violation shows
// there).
type browser struct {
	t    *testing.T
	ctx  context.Context
	mu   sync.Mutex
	urls []string
	errs []string
}

func newBrowser(t *testing.T, width, height int64, mobile, reducedMotion bool, extra ...chromedp.ExecAllocatorOption) *browser {
	t.Helper()
	exe := chromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(int(width), int(height)),
	}
	opts = append(opts, extra...)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelC(); cancelA() })
	b := &browser{t: t, ctx: ctx}
	// The first Run starts the browser; it must not carry a timeout.
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	requests := chromedp.Events(ctx, network.RequestWillBeSent)
	console := chromedp.Console(ctx)
	go func() {
		for ev, err := range requests {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.urls = append(b.urls, ev.Request.URL)
			b.mu.Unlock()
		}
	}()
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleException || m.Type == "error" {
				b.mu.Lock()
				b.errs = append(b.errs, fmt.Sprintf("%s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line))
				b.mu.Unlock()
			}
		}
	}()
	if _, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
		Width: width, Height: height, DeviceScaleFactor: 1, Mobile: mobile,
	}); err != nil {
		t.Fatal(err)
	}
	var features []*emulation.MediaFeature
	if reducedMotion {
		features = append(features, &emulation.MediaFeature{Name: "prefers-reduced-motion", Value: "reduce"})
	}
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: features}); err != nil {
		t.Fatal(err)
	}
	return b
}

// do runs steps with a time limit, saving a screenshot when one fails.
func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.shot("failure-" + strings.ReplaceAll(b.t.Name(), "/", "-"))
		b.t.Fatalf("browser: %v", err)
	}
}

// typeInto types keys into the element sel selects once it is visible, as a
// person does: it focuses the element and sends the key events. It stands for
// chromedp.SendKeys, which reads the node's attributes before taking the node's
// lock: a data race with the DOM events of a page that changes that element's
// attributes meanwhile (the race detector caught it in the console lab).
func typeInto(sel, keys string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Focus(chromedp.CSS(sel)), chromedp.KeyEvent(keys))
}

func (b *browser) open(url string) { b.t.Helper(); b.do(chromedp.Navigate(url)) }

// eval evaluates a JavaScript expression.
func eval[T any](b *browser, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// textOf returns the text of the first element matching sel, or "" and false.
func (b *browser) textOf(sel string) (string, bool) {
	b.t.Helper()
	v := eval[[]any](b, fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e ? [true, e.textContent] : [false, ""]; })()`, sel))
	return strings.TrimSpace(v[1].(string)), v[0].(bool)
}

// waitText polls until sel's text satisfies ok, failing after 20 s with the last text.
func (b *browser) waitText(sel, what string, ok func(string) bool) string {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	last := "(no such element)"
	for time.Now().Before(deadline) {
		if s, found := b.textOf(sel); found {
			last = s
			if ok(s) {
				return s
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.shot("failure-" + strings.ReplaceAll(b.t.Name(), "/", "-"))
	b.t.Fatalf("%s: want %s; last text %q", sel, what, last)
	return ""
}

func (b *browser) attr(sel, name string) string {
	b.t.Helper()
	b.do(chromedp.WaitVisible(chromedp.CSS(sel)))
	return eval[string](b, fmt.Sprintf(`document.querySelector(%q).getAttribute(%q) ?? ""`, sel, name))
}

func (b *browser) click(sel string) {
	b.t.Helper()
	b.do(chromedp.WaitEnabled(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
}

// shot saves a full-page screenshot as docs/img/NAME.png.
func (b *browser) shot(name string) {
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	dir := filepath.Join("..", "docs", "img")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	b.t.Logf("screenshot %s", path)
}

// checkClean fails on page errors and on requests that left the server's
// origin. A page error containing one of expected (e.g. the 401 of a refused
// token, which Chromium logs) is not one.
func (b *browser) checkClean(origin string, expected ...string) {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.errs {
		if !slices.ContainsFunc(expected, func(x string) bool { return strings.Contains(e, x) }) {
			b.t.Errorf("page error: %s", e)
		}
	}
	for _, u := range b.urls {
		if !strings.HasPrefix(u, origin+"/") && !strings.HasPrefix(u, "data:") {
			b.t.Errorf("request left the server's origin: %s", u)
		}
	}
}

func (b *browser) requests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.urls...)
}

func number(t *testing.T, s string) float64 {
	t.Helper()
	var f float64
	if _, err := fmt.Sscan(strings.ReplaceAll(s, ",", ""), &f); err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return f
}
