// Package deploy_test checks the shipped deployment files against the code:
// every metric name the alert rules and Grafana dashboards use is served by a
// wired instance; every BIGMARKET_* variable the compose file and the systemd
// unit set is a configuration variable; every file the compose file mounts
// exists. Docker, Grafana and systemd cannot run here; Prometheus's own syntax
// check (promtool) runs in .ci/run.
package deploy_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/bigmarket/bigmarket/internal/app/apptest"
	"github.com/bigmarket/bigmarket/internal/config"
	"github.com/bigmarket/bigmarket/internal/platform/redisx/redisxtest"
	"github.com/bigmarket/bigmarket/internal/testsvc"
)

// expression is one PromQL expression of a shipped file and where it is.
type expression struct {
	where, expr string
}

// alertExpressions returns the expr of every rule in deploy/prometheus/alerts.yml.
func alertExpressions(t *testing.T) []expression {
	t.Helper()
	b, err := os.ReadFile("prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	var out []expression
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			out = append(out, expression{"alerts.yml " + r.Alert, r.Expr})
		}
	}
	return out
}

// dashboardExpressions returns every target expression of every panel (rows'
// nested panels included) of the dashboards in deploy/grafana/dashboards.
func dashboardExpressions(t *testing.T) []expression {
	t.Helper()
	files, err := filepath.Glob("grafana/dashboards/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards: %v", err)
	}
	type panel struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
		Panels []json.RawMessage `json:"panels"`
	}
	var out []expression
	var walk func(file string, raw []json.RawMessage)
	walk = func(file string, raw []json.RawMessage) {
		for _, r := range raw {
			var p panel
			if err := json.Unmarshal(r, &p); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			for _, tg := range p.Targets {
				out = append(out, expression{filepath.Base(file) + " " + p.Title, tg.Expr})
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
			UID    string            `json:"uid"`
			Panels []json.RawMessage `json:"panels"`
		}
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if d.UID == "" || len(d.Panels) == 0 {
			t.Fatalf("%s: no uid or no panels", f)
		}
		walk(f, d.Panels)
	}
	return out
}

var (
	// grafanaVars are the interval variables Grafana substitutes.
	grafanaVars = regexp.MustCompile(`\$__(rate_interval|interval|range)\b`)
	// quoted matches PromQL string literals.
	quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	// matchers matches label matcher blocks (strings already removed).
	matchers = regexp.MustCompile(`\{[^{}]*\}`)
	// grouping matches the label lists of aggregations and vector matching.
	grouping = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)`)
	// ranges matches range and subquery selectors and offsets' durations.
	ranges = regexp.MustCompile(`\[[^\[\]]*\]`)
	// identifier matches names; metricNames drops those glued to a number
	// ("5m", "1e3") or followed by "(".
	identifier = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	// callFollows matches the start of an argument list.
	callFollows = regexp.MustCompile(`^\s*\(`)
)

// keywords are PromQL words that are not metric names.
var keywords = map[string]bool{
	"and": true, "or": true, "unless": true, "by": true, "without": true, "on": true, "ignoring": true,
	"group_left": true, "group_right": true, "bool": true, "offset": true, "inf": true, "nan": true, "atan2": true,
}

// metricNames returns the metric names an expression selects: identifiers
// that are not functions or aggregations (followed by "("), keywords, label
// names (inside {…} or by (…) lists) or string contents.
func metricNames(expr string) []string {
	e := grafanaVars.ReplaceAllString(expr, "5m")
	e = quoted.ReplaceAllString(e, `""`)
	e = matchers.ReplaceAllString(e, " ")
	e = grouping.ReplaceAllString(e, " ")
	e = ranges.ReplaceAllString(e, " ")
	seen := map[string]bool{}
	var out []string
	for _, loc := range identifier.FindAllStringIndex(e, -1) {
		name := e[loc[0]:loc[1]]
		if loc[0] > 0 && strings.ContainsAny(e[loc[0]-1:loc[0]], "0123456789.") {
			continue // the unit or exponent of a number
		}
		if callFollows.MatchString(e[loc[1]:]) || keywords[strings.ToLower(name)] || seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, name)
	}
	return out
}

// missingNames returns, sorted, the names used by exprs that have is false
// for, each with where it is used.
func missingNames(exprs []expression, have func(string) bool) []string {
	var out []string
	for _, e := range exprs {
		for _, n := range metricNames(e.expr) {
			if !have(n) {
				out = append(out, fmt.Sprintf("%s (%s)", n, e.where))
			}
		}
	}
	sort.Strings(out)
	return out
}

func TestMetricNamesOfExpressions(t *testing.T) {
	cases := map[string][]string{
		`up{job="bigmarket"} == 0`: {"up"},
		`sum by (job) (rate(bigmarket_http_requests_total{code=~"0001|0006"}[5m])) / sum by (job) (rate(bigmarket_http_requests_total[5m])) > 0.05`:                                      {"bigmarket_http_requests_total"},
		`histogram_quantile(0.99, sum by (endpoint, le) (rate(bigmarket_http_request_duration_seconds_bucket{endpoint=~"/api/v1/raffle/activity/draw(_by_token)?"}[$__rate_interval])))`: {"bigmarket_http_request_duration_seconds_bucket"},
		`max by (strategy, award) (a_left) / max by (strategy, award) (b_configured > 0) < 0.1`:                                                                                          {"a_left", "b_configured"},
		`sum(increase(x_total{endpoint=~".*/calendar_sign_rebate(_by_token)?",code="0000"}[$__range])) and on (instance) y offset 1h`:                                                    {"x_total", "y"},
		`rate(go_gc_duration_seconds_count[1m]) * 1e3 + process_open_fds{}`:                                                                                                              {"go_gc_duration_seconds_count", "process_open_fds"},
	}
	for expr, want := range cases {
		if got := metricNames(expr); !slices.Equal(got, want) {
			t.Errorf("metricNames(%s) = %v, want %v", expr, got, want)
		}
	}
	// A misspelt name is reported.
	have := func(n string) bool { return n == "bigmarket_draws_total" }
	got := missingNames([]expression{{"x", `sum(rate(bigmarket_draw_total[5m]))`}, {"y", `bigmarket_draws_total`}}, have)
	if len(got) != 1 || !strings.HasPrefix(got[0], "bigmarket_draw_total ") {
		t.Errorf("missingNames = %v, want the misspelt bigmarket_draw_total only", got)
	}
}

// TestDashboardAndAlertMetricsExist wires an instance with Redis (for the
// Redis pool metrics), makes it draw and deliver, and checks that every metric
// name used by an alert rule or a dashboard panel is served on /metrics.
func TestDashboardAndAlertMetricsExist(t *testing.T) {
	exprs := append(alertExpressions(t), dashboardExpressions(t)...)
	if len(exprs) < 30 {
		t.Fatalf("only %d expressions found in the shipped files", len(exprs))
	}
	for _, e := range exprs {
		if len(metricNames(e.expr)) == 0 {
			t.Errorf("%s: no metric name found in %q", e.where, e.expr)
		}
	}

	_, prefix := redisxtest.New(t)
	redisAddr := testsvc.Addr(t, "redis")
	a := apptest.New(t, func(c *config.Config) {
		c.Redis.Addrs, c.Redis.Prefix = []string{redisAddr}, prefix
	})
	h := a.Handler()
	apptest.Call(t, h, a.AdminToken, "POST", "/api/admin/v1/quota/grant", `{"id":"deploy1","userId":"deploy1","activityId":100301,"total":1,"day":1,"month":1}`)
	apptest.Call(t, h, a.AdminToken, "POST", "/api/v1/raffle/activity/draw", `{"userId":"deploy1","activityId":100301}`)
	var s apptest.Scrape
	deadline := time.Now().Add(testsvc.WaitLimit)
	for {
		s = apptest.ScrapeMetrics(t, h, a.AdminToken)
		if len(s.Find("bigmarket_award_deliveries_total", nil)) > 0 {
			break // the award was delivered: every vector has a series
		}
		if time.Now().After(deadline) {
			t.Fatal("the draw's award was never delivered")
		}
		time.Sleep(200 * time.Millisecond)
	}
	names := s.Names()
	names["up"] = true // Prometheus's own series for each target
	if missing := missingNames(exprs, func(n string) bool { return names[n] }); len(missing) > 0 {
		t.Errorf("metric names used in deploy/ that the instance does not serve:\n  %s", strings.Join(missing, "\n  "))
	}
}

// isConfigVariable reports whether name is a variable config.Load reads: some
// value of it changes the configuration or is refused by name.
func isConfigVariable(name string) bool {
	def, err := config.Load("", func(string) string { return "" })
	if err != nil {
		panic(err)
	}
	for _, probe := range []string{"probe-value", "7", "false", "true", "127.0.0.1:1"} {
		c, err := config.Load("", func(k string) string {
			if k == name {
				return probe
			}
			return ""
		})
		if err != nil || !reflect.DeepEqual(c, def) {
			return true
		}
	}
	return false
}

func TestConfigVariableProbe(t *testing.T) {
	for _, n := range []string{"BIGMARKET_ADDR", "BIGMARKET_DEMO", "BIGMARKET_METRICS_REQUIRE_TOKEN", "BIGMARKET_MYSQL_TABLES_PER_SHARD", "BIGMARKET_REDIS_ADDRS"} {
		if !isConfigVariable(n) {
			t.Errorf("%s not recognised", n)
		}
	}
	for _, n := range []string{"BIGMARKET_REDIS_ADDR", "BIGMARKET_NOPE", "BIGMARKET_MYSQL_SHARDS"} {
		if isConfigVariable(n) {
			t.Errorf("%s recognised, but config reads no such variable", n)
		}
	}
}

// TestComposeMatchesCode: the compose file's BIGMARKET_* variables are
// configuration variables, the files it mounts and builds from exist, the
// Prometheus it runs scrapes the instances' metrics listener, and nginx's
// upstream addresses are the instances' addresses.
func TestComposeMatchesCode(t *testing.T) {
	b, err := os.ReadFile("docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Services map[string]struct {
			Image       string         `yaml:"image"`
			Build       map[string]any `yaml:"build"`
			Command     []string       `yaml:"command"`
			Environment map[string]any `yaml:"environment"`
			Volumes     []string       `yaml:"volumes"`
			Networks    any            `yaml:"networks"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	for _, want := range []string{"mariadb", "redis", "rabbitmq", "migrate", "bigmarket-1", "bigmarket-2", "nginx", "prometheus", "grafana"} {
		if _, ok := f.Services[want]; !ok {
			t.Errorf("service %s missing", want)
		}
	}
	vars := 0
	for name, svc := range f.Services {
		for k := range svc.Environment {
			if !strings.HasPrefix(k, "BIGMARKET_") {
				continue
			}
			vars++
			if !isConfigVariable(k) {
				t.Errorf("service %s sets %s, which is not a configuration variable (internal/config)", name, k)
			}
		}
		for _, v := range svc.Volumes {
			src, _, ok := strings.Cut(v, ":")
			if !ok || !strings.HasPrefix(src, ".") {
				continue // a named volume
			}
			if _, err := os.Stat(src); err != nil {
				t.Errorf("service %s mounts %s: %v", name, src, err)
			}
		}
		if ctx, ok := svc.Build["context"].(string); ok {
			df, _ := svc.Build["dockerfile"].(string)
			if _, err := os.Stat(filepath.Join(ctx, df)); err != nil {
				t.Errorf("service %s builds from %s: %v", name, filepath.Join(ctx, df), err)
			}
		}
		for _, c := range svc.Command {
			if svc.Image == "bigmarket:local" && !slices.Contains([]string{"serve", "migrate"}, c) {
				t.Errorf("service %s runs bigmarket %q", name, c)
			}
		}
	}
	if vars < 10 {
		t.Errorf("only %d BIGMARKET_* variables found: the instances' environment did not parse", vars)
	}
	inst := f.Services["bigmarket-1"].Environment
	if inst["BIGMARKET_DB_DRIVER"] != "mysql" || inst["BIGMARKET_METRICS_ADDR"] != ":9091" {
		t.Errorf("bigmarket-1: driver %v, metrics addr %v", inst["BIGMARKET_DB_DRIVER"], inst["BIGMARKET_METRICS_ADDR"])
	}
	dsns := fmt.Sprint(inst["BIGMARKET_MYSQL_SHARD_DSNS"]) + "," + fmt.Sprint(inst["BIGMARKET_MYSQL_CONFIG_DSN"])
	initSQL, err := os.ReadFile("mariadb/init.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`\)/(\w+)`).FindAllStringSubmatch(dsns, -1) {
		if !strings.Contains(string(initSQL), "CREATE DATABASE IF NOT EXISTS "+m[1]+" ") {
			t.Errorf("database %s of the DSNs is not created by mariadb/init.sql", m[1])
		}
	}
	// nginx balances over the instances' fixed addresses; Prometheus scrapes
	// their metrics listener.
	nginx, err := os.ReadFile("nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"bigmarket-1", "bigmarket-2"} {
		nets := fmt.Sprint(f.Services[n].Networks)
		ip := regexp.MustCompile(`10\.0\.0\.\d+`).FindString(nets)
		if ip == "" || !strings.Contains(string(nginx), "server "+ip+":8091") {
			t.Errorf("%s has address %q (networks %s), not an upstream server of nginx.conf", n, ip, nets)
		}
	}
	prom, err := os.ReadFile("prometheus/compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"bigmarket-1:9091", "bigmarket-2:9091"} {
		if !strings.Contains(string(prom), target) {
			t.Errorf("prometheus/compose.yml does not scrape %s", target)
		}
	}
}

// TestSystemdUnit: the unit runs "bigmarket serve --config …" and sets only
// configuration variables.
func TestSystemdUnit(t *testing.T) {
	b, err := os.ReadFile("systemd/bigmarket.service")
	if err != nil {
		t.Fatal(err)
	}
	var exec string
	envs := 0
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		switch k {
		case "ExecStart":
			exec = v
		case "Environment":
			for _, kv := range strings.Fields(v) {
				name, _, _ := strings.Cut(strings.Trim(kv, `"`), "=")
				envs++
				if !isConfigVariable(name) {
					t.Errorf("Environment %s is not a configuration variable", name)
				}
			}
		}
	}
	if f := strings.Fields(exec); len(f) < 2 || filepath.Base(f[0]) != "bigmarket" || f[1] != "serve" || !slices.Contains(f, "--config") {
		t.Errorf("ExecStart = %q, want bigmarket serve --config FILE", exec)
	}
	if envs == 0 {
		t.Error("no Environment line parsed")
	}
	for _, want := range []string{"KillSignal=SIGTERM", "Restart=on-failure", "[Install]"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("unit lacks %s", want)
		}
	}
}
