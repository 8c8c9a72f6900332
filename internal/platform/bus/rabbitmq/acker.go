package rabbitmq

import (
	"log/slog"
	"sync/atomic"
	"time"
)

// Defaults of the acknowledgement batching (Config.ackDelay, Config.ackHold).
const (
	// defaultAckDelay is how long a settled delivery may wait for later ones to
	// share its basic.ack. At a few hundred deliveries a second every message
	// would otherwise cost the broker a read, a wake-up of its reader and channel
	// processes and a frame to parse; a few milliseconds gather several, and
	// only delay the release of as many prefetch slots.
	defaultAckDelay = 5 * time.Millisecond
	// defaultAckHold is how long a settled delivery may wait behind an earlier
	// one whose handler is still running before it is acknowledged on its own,
	// so that one slow handler does not hold the whole prefetch window.
	defaultAckHold = 50 * time.Millisecond
)

// acknowledger is the part of *amqp.Channel the acker uses.
type acknowledger interface {
	Ack(tag uint64, multiple bool) error
}

// settlement reports that the delivery tag has been dealt with: ack means it is
// to be acknowledged by the acker; otherwise the handler's goroutine already
// settled it with the broker itself (a nack, or an ack sent alone) before
// reporting it.
type settlement struct {
	tag uint64
	ack bool
}

// acker acknowledges the deliveries of one consumer channel in batches.
//
// Handlers finish out of order, and basic.ack with multiple=true settles every
// unacknowledged delivery up to and including its tag, so the acker keeps the
// contiguous prefix of settled tags (base: every tag up to it has been
// reported) and acknowledges the highest tag in it that still awaits its ack,
// with multiple=true: what that covers is exactly the prefix's deliveries not
// yet settled with the broker, for a delivery settled alone (nacked, or acked
// on its own) is no longer unacknowledged and the broker skips it. The tag sent
// is always one never acknowledged before: the broker closes the channel
// ("unknown delivery tag") when the tag of a multiple ack is not outstanding.
//
// Nothing is acknowledged before its handler reported it, so a crash at any
// point leaves every unreported delivery unacknowledged, and the broker
// redelivers it. Tags reported beyond a gap (an earlier handler still running,
// or a delivery the library dropped when its consumer was cancelled) are
// acknowledged one by one after hold. Deliveries are numbered from 1 on each
// channel, in the order they are handed to the consumer, which hands every one
// to a handler.
type acker struct {
	ch    acknowledger
	in    chan settlement // closed when every handler goroutine of the consumer has returned
	delay time.Duration   // 0: acknowledge as soon as no report is waiting
	hold  time.Duration
	batch int // acknowledge at once when this many await their ack in the prefix
	log   *slog.Logger

	// Owned by run.
	base   uint64          // every tag <= base has been reported
	last   uint64          // highest tag <= base awaiting its ack; 0 when none
	unsent int             // tags <= base awaiting their ack
	beyond map[uint64]bool // reported tags > base: true while awaiting their ack
	held   int             // entries of beyond awaiting their ack
	failed bool            // an ack failed: the channel is gone

	waiting atomic.Int64 // reported, not yet acknowledged (tests watch it)
}

func newAcker(ch acknowledger, buffer int, delay, hold time.Duration, batch int, log *slog.Logger) *acker {
	return &acker{
		ch:     ch,
		in:     make(chan settlement, buffer),
		delay:  delay,
		hold:   hold,
		batch:  max(batch, 1),
		log:    log,
		beyond: make(map[uint64]bool),
	}
}

// settle reports tag. With ack, the acker acknowledges it; otherwise the caller
// has already settled it with the broker (nack, or ack alone) on this channel.
func (a *acker) settle(tag uint64, ack bool) {
	if ack {
		a.waiting.Add(1)
	}
	a.in <- settlement{tag: tag, ack: ack}
}

// drain adds the settlements already reported, without waiting; false means
// in was closed.
func (a *acker) drain() bool {
	for {
		select {
		case s, ok := <-a.in:
			if !ok {
				return false
			}
			a.add(s)
		default:
			return true
		}
	}
}

// run acknowledges reported deliveries until in is closed, then acknowledges
// everything reported and returns.
func (a *acker) run() {
	flush := time.NewTimer(time.Hour)
	flush.Stop()
	hold := time.NewTimer(time.Hour)
	hold.Stop()
	var flushArmed, holdArmed bool
	for {
		select {
		case s, ok := <-a.in:
			if ok {
				a.add(s)
				ok = a.drain()
			}
			if !ok {
				a.flush()
				a.ackHeld()
				return
			}
			if a.unsent >= a.batch || (a.unsent > 0 && a.delay <= 0) {
				a.flush()
			}
			if a.unsent > 0 && !flushArmed {
				flush.Reset(a.delay)
				flushArmed = true
			}
			if a.held > 0 && !holdArmed {
				hold.Reset(a.hold)
				holdArmed = true
			}
		case <-flush.C:
			flushArmed = false
			a.flush()
		case <-hold.C:
			holdArmed = false
			a.flush()
			a.ackHeld()
		}
	}
}

// add records s and extends the settled prefix as far as it now reaches.
func (a *acker) add(s settlement) {
	if _, dup := a.beyond[s.tag]; dup || s.tag <= a.base {
		a.log.Error("bus: delivery reported twice; ignored", "tag", s.tag)
		if s.ack {
			a.waiting.Add(-1)
		}
		return
	}
	a.beyond[s.tag] = s.ack
	if s.ack {
		a.held++
	}
	for {
		pending, ok := a.beyond[a.base+1]
		if !ok {
			return
		}
		delete(a.beyond, a.base+1)
		a.base++
		if pending {
			a.held--
			a.last = a.base
			a.unsent++
		}
	}
}

// flush acknowledges the prefix's deliveries awaiting their ack, with one
// basic.ack of multiple=true.
func (a *acker) flush() {
	if a.unsent == 0 {
		return
	}
	a.send(a.last, true, a.unsent)
	a.last, a.unsent = 0, 0
}

// ackHeld acknowledges, one by one, the deliveries reported beyond the prefix.
func (a *acker) ackHeld() {
	if a.held == 0 {
		return
	}
	for tag, pending := range a.beyond {
		if pending {
			a.send(tag, false, 1)
			a.beyond[tag] = false
		}
	}
	a.held = 0
}

func (a *acker) send(tag uint64, multiple bool, n int) {
	a.waiting.Add(-int64(n))
	if a.failed {
		return
	}
	if err := a.ch.Ack(tag, multiple); err != nil {
		// The channel is gone, and every delivery still unacknowledged on it
		// with it: the broker delivers them again.
		a.failed = true
		a.log.Warn("bus: ack failed; the unacknowledged messages will be delivered again",
			"tag", tag, "multiple", multiple, "err", err)
	}
}
