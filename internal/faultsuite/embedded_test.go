package faultsuite

import (
	"testing"
	"time"
)

// Load phases of a fault: draws before it strikes and after recovery. Short, so
// the whole suite fits its CI step on a 2-core machine.
const (
	loadBefore = 3 * time.Second
	loadAfter  = 3 * time.Second
	workers    = 16
	// hungWebhook outlasts a delivery's webhook timeout and a shutdown's drain.
	hungWebhook = 30 * time.Second
	// hangBeforeKill is how long the webhook partner answers nothing before an
	// instance is killed: the kill finds webhook calls in flight, and none of
	// them answered. A call answered 2xx just before its deliverer dies is
	// posted again by design (the receiver deduplicates by the delivery header,
	// see award.DeliveryHeader): no implementation can close that window, so
	// the kill faults keep it empty; the calls the kill leaves unanswered may
	// be posted again (reposts), and a second 2xx for one award is a duplicate.
	hangBeforeKill = time.Second
)

// TestEmbeddedBaseline is the control: the same load without a fault must pass
// every check, or the checks themselves are wrong.
func TestEmbeddedBaseline(t *testing.T) {
	needSuite(t)
	w := embedded(t, fastStock)
	in := w.instance("embedded")
	in.start()
	w.grant(in)
	l := w.load(0, in)
	l.start(workers)
	time.Sleep(loadBefore + loadAfter)
	l.finish()
	w.settleAndCheck("none (baseline)", l)
}

// TestEmbeddedKill9 kills the embedded instance with SIGKILL mid-load and
// restarts it on the same data directory.
func TestEmbeddedKill9(t *testing.T) {
	needSuite(t)
	w := embedded(t, fastStock)
	in := w.instance("embedded")
	in.start()
	w.grant(in)
	l := w.load(0, in)
	l.start(workers)
	time.Sleep(loadBefore)
	w.hooks.setDelay(hungWebhook) // deliveries in flight, unanswered, when it dies (see hangBeforeKill)
	time.Sleep(hangBeforeKill)
	in.kill()
	w.hooks.setDelay(webhookDelay)
	w.nothingAcknowledgedUndone("after kill -9")
	time.Sleep(time.Second) // draws meanwhile are refused
	in.restart()
	w.serves(l, loadAfter, "the restart")
	l.finish()
	w.settleAndCheck("kill -9, restart", l)
}

// TestEmbeddedSIGTERM stops the embedded instance with SIGTERM mid-load (a
// graceful shutdown with requests in flight) while the webhook partner hangs,
// so deliveries cannot finish within the shutdown, and restarts it.
func TestEmbeddedSIGTERM(t *testing.T) {
	needSuite(t)
	w := embedded(t, fastStock)
	in := w.instance("embedded")
	in.start()
	w.grant(in)
	l := w.load(0, in)
	l.start(workers)
	time.Sleep(loadBefore)
	w.hooks.setDelay(hungWebhook)
	time.Sleep(500 * time.Millisecond)
	took := in.terminate(time.Minute)
	t.Logf("SIGTERM: the instance ended in %s", took.Round(time.Millisecond))
	w.hooks.setDelay(webhookDelay)
	w.nothingAcknowledgedUndone("after SIGTERM")
	in.restart()
	w.serves(l, loadAfter, "the restart")
	l.finish()
	w.settleAndCheck("SIGTERM, restart", l)
}
