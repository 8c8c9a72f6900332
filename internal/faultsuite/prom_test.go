package faultsuite

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/bigmarket/bigmarket/internal/testsvc"
)

// The shipped monitoring files the fleet test runs: Prometheus's scrape
// configuration and alert rules, Grafana's dashboards.
const (
	shippedPrometheus = "../../deploy/prometheus/prometheus.yml"
	shippedAlerts     = "../../deploy/prometheus/alerts.yml"
	shippedDashboards = "../../deploy/grafana/dashboards/*.json"
	// tokenFile is the admin token's file that prometheus.yml names.
	tokenFile = "bigmarket-admin-token"
)

// lookPrometheus returns Debian's prometheus binary, or "" (with the reason
// logged) when it is missing and BIGMARKET_REQUIRE_SERVICES is not 1.
func lookPrometheus(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if testsvc.Required() {
			t.Fatalf("prometheus is required (BIGMARKET_REQUIRE_SERVICES=1) but not installed: %v (apt-get install prometheus; .ci/run installs it)", err)
		}
		t.Logf("prometheus not installed (%v): the dashboards and alert rules are not evaluated", err)
		return ""
	}
	return bin
}

// prom is Debian's Prometheus scraping the fleet with the shipped
// configuration (targets and intervals changed) and alert rules.
type prom struct {
	*process
	addr string
}

// startPrometheus generates prometheus.yml from the shipped one, the scrape
// targets replaced by the instances and every interval 1 s, next to the shipped
// alerts.yml and the admin token's file, and runs Prometheus on a free port.
func startPrometheus(t *testing.T, bin string, targets ...string) *prom {
	t.Helper()
	b, err := os.ReadFile(shippedPrometheus)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("%s: %v", shippedPrometheus, err)
	}
	global, _ := cfg["global"].(map[string]any)
	scrapes, _ := cfg["scrape_configs"].([]any)
	if global == nil || len(scrapes) != 1 {
		t.Fatalf("%s: want a global block and one scrape config, got %v", shippedPrometheus, cfg)
	}
	global["scrape_interval"], global["scrape_timeout"], global["evaluation_interval"] = "1s", "1s", "1s"
	job, _ := scrapes[0].(map[string]any)
	statics, _ := job["static_configs"].([]any)
	if job == nil || len(statics) != 1 {
		t.Fatalf("%s: want one static_configs entry, got %v", shippedPrometheus, job)
	}
	static, _ := statics[0].(map[string]any)
	if static == nil || static["targets"] == nil {
		t.Fatalf("%s: static_configs without targets", shippedPrometheus)
	}
	static["targets"] = targets
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	alerts, err := os.ReadFile(shippedAlerts)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"prometheus.yml": out, "alerts.yml": alerts, tokenFile: []byte(adminToken + "\n")} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := &prom{addr: freeAddr(t)}
	p.process = newProcess(t, "prometheus", bin, nil,
		"--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+p.addr, "--log.level=warn")
	p.startListening(p.addr, time.Minute)
	return p
}

// query evaluates expr at time at through the HTTP API and returns the number
// of series (or 1 for a scalar) and an error when Prometheus refused it.
func (p *prom) query(expr string, at time.Time) (int, error) {
	q := url.Values{"query": {expr}, "time": {fmt.Sprintf("%.3f", float64(at.UnixMilli())/1000)}}
	resp, err := http.Get("http://" + p.addr + "/api/v1/query?" + q.Encode())
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	var r struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Data      struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return 0, fmt.Errorf("HTTP %d: %s", resp.StatusCode, body)
	}
	if r.Status != "success" {
		return 0, fmt.Errorf("%s: %s", r.ErrorType, r.Error)
	}
	if r.Data.ResultType == "scalar" || r.Data.ResultType == "string" {
		return 1, nil
	}
	var series []json.RawMessage
	if err := json.Unmarshal(r.Data.Result, &series); err != nil {
		return 0, fmt.Errorf("result %s: %w", r.Data.Result, err)
	}
	return len(series), nil
}

// waitUp waits until Prometheus has scraped n instances successfully, failing
// t after limit.
func (p *prom) waitUp(t *testing.T, n int, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		got, err := p.query(`up{job="bigmarket"} == 1`, time.Now())
		if err == nil && got == n {
			return
		}
		if time.Now().After(deadline) {
			p.dumpLog(20)
			t.Fatalf("Prometheus: %d instances up after %s (want %d): %v", got, limit, n, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// promExpr is one PromQL expression of a shipped file.
type promExpr struct {
	where, expr string
	alert       bool
}

// shippedExpressions returns every alert rule's expression and every
// dashboard panel's target expression (rows' nested panels included).
func shippedExpressions(t *testing.T) []promExpr {
	t.Helper()
	var out []promExpr
	b, err := os.ReadFile(shippedAlerts)
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatalf("%s: %v", shippedAlerts, err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			out = append(out, promExpr{"alerts.yml " + r.Alert, strings.TrimSpace(r.Expr), true})
		}
	}
	files, err := filepath.Glob(shippedDashboards)
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards at %s: %v", shippedDashboards, err)
	}
	type panel struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
		Panels []panel `json:"panels"`
	}
	var walk func(file string, ps []panel)
	walk = func(file string, ps []panel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				out = append(out, promExpr{where: filepath.Base(file) + " " + p.Title, expr: tg.Expr})
			}
			walk(file, p.Panels)
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Panels []panel `json:"panels"`
		}
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		walk(f, d.Panels)
	}
	return out
}

var (
	// grafanaRange are Grafana's interval variables: evaluated with a window
	// of many 1 s scrapes, within the fleet's load.
	grafanaRange = regexp.MustCompile(`\$__(rate_interval|interval|range)\b`)
	// alertCondition is an alert's final comparison with a number: without
	// it, the expression returns the series the rule watches.
	alertCondition = regexp.MustCompile(`\s*(==|!=|>=|<=|>|<)\s*[0-9.e+-]+\s*$`)
)

// promFigures are what the evaluation found.
type promFigures struct {
	expressions, withData int
	empty                 []string // where: expression, for those allowed to be empty
	rules                 int      // alert rules Prometheus loaded and evaluated without error
}

// rulesHealth fails t unless Prometheus loaded every shipped alert rule and
// evaluated each without error; it returns how many it evaluated.
func (p *prom) rulesHealth(t *testing.T) int {
	t.Helper()
	resp, err := http.Get("http://" + p.addr + "/api/v1/rules")
	if err != nil {
		t.Errorf("Prometheus rules: %v", err)
		return 0
	}
	defer resp.Body.Close()
	var r struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name      string `json:"name"`
					Health    string `json:"health"`
					LastError string `json:"lastError"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Errorf("Prometheus rules: %v", err)
		return 0
	}
	n := 0
	for _, g := range r.Data.Groups {
		for _, rule := range g.Rules {
			if rule.Health != "ok" {
				t.Errorf("alert rule %s: health %q after evaluation against the fleet: %s", rule.Name, rule.Health, rule.LastError)
				continue
			}
			n++
		}
	}
	want := 0
	for _, e := range shippedExpressions(t) {
		if e.alert {
			want++
		}
	}
	if n != want {
		t.Errorf("Prometheus evaluated %d alert rules without error, %s has %d", n, shippedAlerts, want)
	}
	return n
}

// quietSeries are label filters selecting traffic or trouble the fleet test
// does not cause (sign-in rebates and exchanges are not driven; no instance
// answers 0001, 0006 or 0007 unless the machine is overloaded; no delivery
// errs): an expression containing one may return no data, provided the metric
// it names has series (so a misspelt name still fails). The metrics are
// labelled by what happened, so these series exist only once it did.
var quietSeries = map[string]string{
	`calendar_sign_rebate`:          "bigmarket_http_requests_total",
	`credit_pay_exchange_sku`:       "bigmarket_http_requests_total",
	`code=~"0001|0006|0007"`:        "bigmarket_http_requests_total",
	`outcome=~"error|config_error"`: "bigmarket_award_deliveries_total",
}

// evaluateShipped evaluates every shipped expression at time at: each must
// parse, and each must return data unless it selects quiet series. An alert's
// expression is evaluated without its final comparison (the rule's condition is
// not expected to hold).
func (p *prom) evaluateShipped(t *testing.T, at time.Time) promFigures {
	t.Helper()
	var f promFigures
	for _, e := range shippedExpressions(t) {
		f.expressions++
		expr := grafanaRange.ReplaceAllString(e.expr, "30s")
		if e.alert {
			expr = alertCondition.ReplaceAllString(expr, "")
		}
		n, err := p.query(expr, at)
		if err != nil {
			t.Errorf("%s: Prometheus refused %q: %v", e.where, expr, err)
			continue
		}
		if n > 0 {
			f.withData++
			continue
		}
		quiet := ""
		for filter, metric := range quietSeries {
			if strings.Contains(expr, filter) {
				quiet = metric
			}
		}
		if quiet == "" {
			t.Errorf("%s: %q returned no data", e.where, expr)
			continue
		}
		if n, err := p.query("count("+quiet+")", at); err != nil || n == 0 {
			t.Errorf("%s: %q returned no data, and %s has no series either (%v)", e.where, expr, quiet, err)
			continue
		}
		f.empty = append(f.empty, e.where)
	}
	f.rules = p.rulesHealth(t)
	t.Logf("Prometheus: %d expressions of the shipped dashboards and alert rules evaluated, %d with data; empty (quiet series): %v", f.expressions, f.withData, f.empty)
	return f
}
