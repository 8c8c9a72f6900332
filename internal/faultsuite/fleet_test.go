package faultsuite

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

// Phases of the fleet test: draws through three instances, then two after the
// kill, then three again once the restarted one is back.
const (
	fleetPhase = 6 * time.Second
	// fleetRejoinLimit bounds the wait for the restarted instance to get
	// requests again: nginx takes a server out for fail_timeout (10 s in
	// deploy/nginx.conf) after max_fails failures.
	fleetRejoinLimit = 30 * time.Second
	// fleetSettleAfterKill is when, after the kill, every request must be
	// answered by a survivor: nginx sends a request whose connection to the
	// dead instance is refused to the next one.
	fleetSettleAfterKill = 5 * time.Second
)

// fleetFigures are the fleet test's measurements, printed in the suite's
// fleet table.
type fleetFigures struct {
	workers              int
	rate3, rate2, rateRe float64        // draws/s answered 0000 through nginx: 3 instances, 2, 3 again
	errors               int            // requests failed by the kill: nginx's 502/504, connections lost, from the kill to the end
	errorCodes           map[string]int // the same by code
	failures             map[string]int // 0001 and 0006 (an instance failed or ran over the draw budget) from the kill to the end
	lastError            time.Duration  // from the kill to the last 5xx nginx answered
	rejoin               time.Duration  // from the restart to the restarted instance's first answer
	perInstance          [4]int         // requests answered: killed one before the kill, the survivors, the restarted one
	takeovers            []takeover
	prom                 *promFigures // nil when Prometheus is not installed
}

// killError reports whether an answer is what a request in flight on a killed
// instance gets: nginx's error page (502, or 504 when the instance hung) or
// the connection to nginx lost.
func killError(code string) bool {
	return code == "lost" || code == "refused" || strings.HasPrefix(code, "HTTP 5")
}

// failure reports whether an answer is an instance's own failure (0001) or a
// draw over its time budget (0006): on this shared 2-core machine the
// survivors, taking all the load, sometimes run over the 2 s budget; the
// answers are reported and, their outcome unknown to the client, allowed for
// by the checker.
func failure(code string) bool { return code == "0001" || code == "0006" }

// TestFleetBehindNginx runs three production instances behind Debian's nginx
// with the shipped deploy/nginx.conf, drives draws through nginx, kills one
// instance with SIGKILL mid-load, restarts it, and checks: errors at the kill
// bounded by the requests in flight, the survivors taking all traffic, the
// restarted instance getting requests again, every lease-guarded job with one
// runner at a time and taken over within its TTL after its holder died, and
// every invariant of the suite's checker.
func TestFleetBehindNginx(t *testing.T) {
	needFleet(t)
	nginxBin := lookNginx(t)
	promBin := lookPrometheus(t)
	w := production(t, fastStock, nil)
	w.env["BIGMARKET_OUTBOX_RETENTION"] = fleetRetention.String()
	leases := watchLeases(t, w)
	a, b, c := w.instance("fleet-a"), w.instance("fleet-b"), w.instance("fleet-c")
	// The first instance takes every lease: killing it kills every job's runner.
	a.start()
	first := leases.waitHeld(30 * time.Second)
	b.start()
	c.start()
	leases.run()
	w.grant(a)
	lb := startNginx(t, nginxBin, a.addr, b.addr, c.addr)
	var pm *prom
	if promBin != "" {
		pm = startPrometheus(t, promBin, a.addr, b.addr, c.addr)
		pm.waitUp(t, 3, 30*time.Second)
	}

	f := fleetFigures{workers: prodWorkers}
	l := newLoad([]string{lb.url()}, activityID, w.users, 0)
	rate := func(d time.Duration) float64 {
		before := l.answeredTotal()
		time.Sleep(d)
		return float64(l.answeredTotal()-before) / d.Seconds()
	}
	l.start(prodWorkers)
	time.Sleep(3 * time.Second) // the small stocks sell out: draws of one kind from here
	f.rate3 = rate(fleetPhase)

	// Deliveries in flight on the killed instance are unanswered when it dies
	// (see hangBeforeKill): a call answered 2xx just before a kill is posted
	// again by design, and the receiver would count it as a duplicate.
	w.hooks.setDelay(hungWebhook)
	time.Sleep(hangBeforeKill)
	codesAtKill := l.codeCounts()
	killed := time.Now()
	a.kill()
	w.hooks.setDelay(webhookDelay)
	time.Sleep(time.Second)
	f.rate2 = rate(fleetPhase)

	restarted := time.Now()
	a.restart()
	var back time.Time
	for deadline := time.Now().Add(fleetRejoinLimit); back.IsZero() && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		for _, h := range lb.hits(t) {
			if h.served == a.addr && h.status == 200 && h.at.After(restarted) {
				back = h.at
				break
			}
		}
	}
	if back.IsZero() {
		t.Errorf("restarted %s got no request through nginx within %s of its restart", a.name, fleetRejoinLimit)
	} else {
		f.rejoin = back.Sub(restarted)
	}
	f.rateRe = rate(fleetPhase)
	l.finish()
	if pm != nil {
		// Scraped under load, the killed instance back: every panel and rule.
		pm.waitUp(t, 3, 30*time.Second)
		pf := pm.evaluateShipped(t, time.Now())
		f.prom = &pf
	}

	// Errors at the kill: only requests in flight on the killed instance can
	// fail (nginx does not send a POST again once sent; a refused connection
	// goes to the next instance), and there are never more in flight than
	// workers.
	f.errorCodes, f.failures = map[string]int{}, map[string]int{}
	for code, n := range l.codeCounts() {
		d := n - codesAtKill[code]
		switch {
		case d > 0 && killError(code):
			f.errorCodes[code] = d
			f.errors += d
		case d > 0 && failure(code):
			f.failures[code] = d
		}
	}
	for code, n := range codesAtKill {
		if killError(code) {
			t.Errorf("before the kill, %d draws through nginx answered %s (want none)", n, code)
		}
	}
	if f.errors > prodWorkers {
		t.Errorf("%d errors after the kill (%v), more than the %d requests that can be in flight", f.errors, f.errorCodes, prodWorkers)
	}

	for code, sp := range l.codeSpans() {
		if killError(code) || failure(code) {
			t.Logf("answers %s: from %s to %s after the kill (restart at %s)", code, sp.first.Sub(killed).Round(time.Millisecond),
				sp.last.Sub(killed).Round(time.Millisecond), restarted.Sub(killed).Round(time.Millisecond))
		}
	}

	// Traffic per instance, from nginx's log.
	slow := map[string]int{} // instance → requests over a second (the draw budget is 2 s)
	defer func() {
		if len(slow) > 0 {
			t.Logf("requests nginx saw take over a second, by instance: %v", slow)
		}
	}()
	for _, h := range lb.hits(t) {
		if h.took > time.Second {
			slow[h.served]++
		}
		if h.status >= 500 {
			if h.at.After(killed) && h.at.Sub(killed) > f.lastError {
				f.lastError = h.at.Sub(killed)
			}
			if h.at.Before(killed) {
				t.Errorf("nginx answered %d at %s, before the kill (instances tried %v)", h.status, h.at.Format(time.TimeOnly), h.tried)
			}
			continue
		}
		switch {
		case h.served == a.addr && h.at.Before(killed):
			f.perInstance[0]++
		case h.served == b.addr:
			f.perInstance[1]++
		case h.served == c.addr:
			f.perInstance[2]++
		case h.served == a.addr && h.at.After(restarted):
			f.perInstance[3]++
		case h.served == a.addr && h.at.Sub(killed) > time.Second:
			t.Errorf("nginx says %s answered at %s, %s after it was killed", a.name, h.at.Format(time.TimeOnly), h.at.Sub(killed))
		}
		if h.at.After(killed.Add(fleetSettleAfterKill)) && h.at.Before(restarted) && !slices.Contains([]string{b.addr, c.addr}, h.served) {
			t.Errorf("request answered at %s (%s after the kill) by %s, not by a survivor", h.at.Format(time.TimeOnly), h.at.Sub(killed), h.served)
		}
	}
	if f.lastError > fleetSettleAfterKill {
		t.Errorf("nginx still answered 5xx %s after the kill: the survivors did not take all traffic within %s", f.lastError, fleetSettleAfterKill)
	}
	for i, who := range []string{a.name + " before the kill", b.name, c.name, a.name + " after its restart"} {
		if f.perInstance[i] == 0 {
			t.Errorf("%s answered no request through nginx", who)
		}
	}

	w.settleAndCheck("fleet of three behind nginx, one kill -9", l)

	// Every lease taken over by a survivor within its TTL (plus the job's
	// period) after the holder's kill; the longest is exchange-sweep's 3 min.
	limit := killed
	for _, j := range fleetJobs {
		limit = later(limit, killed.Add(j.ttl+j.every+5*time.Second))
	}
	for !leases.takenOver(first) && time.Now().Before(limit) {
		time.Sleep(time.Second)
	}
	leases.finish()
	f.takeovers = leases.check(first, killed)

	t.Logf("fleet: %s", f.line())
	the.mu.Lock()
	the.fleet = append(the.fleet, f)
	the.mu.Unlock()
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

const fleetHeader = "| workers | draws/s, 3 instances | draws/s, 2 | draws/s, 3 again | errors at the kill | 0001/0006 after the kill | last 5xx after the kill | rejoined after restart | requests a / b / c / a again | lease taken over after the kill (TTL) | Prometheus: expressions, with data, rules ok |"

func (f fleetFigures) line() string {
	var tk []string
	for _, x := range f.takeovers {
		tk = append(tk, fmt.Sprintf("%s %s (%s)", x.job.name, x.after.Round(100*time.Millisecond), x.job.ttl))
	}
	pr := "not installed"
	if f.prom != nil {
		pr = fmt.Sprintf("%d, %d, %d", f.prom.expressions, f.prom.withData, f.prom.rules)
	}
	return fmt.Sprintf("| %d | %.0f | %.0f | %.0f | %d %v | %v | %s | %s | %d / %d / %d / %d | %s | %s |",
		f.workers, f.rate3, f.rate2, f.rateRe, f.errors, f.errorCodes, f.failures, f.lastError.Round(time.Millisecond), f.rejoin.Round(time.Millisecond),
		f.perInstance[0], f.perInstance[1], f.perInstance[2], f.perInstance[3], strings.Join(tk, ", "), pr)
}

// printFleet writes the fleet test's figures.
func printFleet(w io.Writer, fleet []fleetFigures) {
	if len(fleet) == 0 {
		return
	}
	fmt.Fprintln(w, "fleet behind nginx (three instances, one kill -9 and restart):")
	fmt.Fprintln(w, fleetHeader)
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
	for _, f := range fleet {
		fmt.Fprintln(w, f.line())
	}
}
