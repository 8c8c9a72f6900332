// Package bus carries bigmarket's events (send_award, send_rebate,
// credit_adjust_success, activity_sku_stock_zero) from the outbox relay to their
// consumers. It declares the small interfaces the rest of the program uses
// (Publisher, Handler, Bus), the JSON envelope every event travels in, and Memory,
// the in-process implementation of the embedded mode. The RabbitMQ implementation
// lives in the sub-package bus/rabbitmq, so that importing this package pulls in
// no driver.
//
// Delivery is at least once: a handler may see a message more than once (after a
// crash, a lost acknowledgement or a reconnect) and must be idempotent. A handler
// error is retried with exponential backoff up to a bounded number of attempts,
// then the message is parked as failed, visible to operators and never requeued
// forever.
//
// A successful Publish means the message can no longer be lost with this
// process: RabbitMQ answers after the broker's publisher confirm (the message is
// in a durable queue); Memory, whose queue dies with the process, answers only
// once the handler has handled the message.
package bus

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"
)

// Errors returned by the implementations; they are wrapped with the operation and
// the topic, so test them with errors.Is.
var (
	// ErrClosed is returned by operations on a bus that has been closed.
	ErrClosed = errors.New("bus: closed")
	// ErrUnavailable is returned by Publish when the message could not be handed
	// to the broker now (disconnected, or the in-process queue stayed full until
	// the context ended). The outbox keeps the task and retries later.
	ErrUnavailable = errors.New("bus: unavailable")
	// ErrUnroutable is returned by Publish when no queue receives the topic (no
	// subscriber declared it), so the message would be lost.
	ErrUnroutable = errors.New("bus: no queue for topic")
	// ErrNotConfirmed is returned by Publish when the broker refused the message
	// (a negative publisher confirm) or did not confirm it in time.
	ErrNotConfirmed = errors.New("bus: publish not confirmed")
	// ErrInvalid is returned for a malformed argument: an empty topic, a nil
	// handler, a second subscription to one topic, Subscribe after Start.
	ErrInvalid = errors.New("bus: invalid argument")
	// ErrHandlerFailed is returned by Publish of a bus that waits for the
	// handler (Memory) when the handler failed on every allowed attempt: the
	// message is parked as failed, not delivered.
	ErrHandlerFailed = errors.New("bus: handler failed")
	// ErrPending is returned by Publish of a bus that waits for the handler
	// (Memory) when the caller's context ended first. It wraps the context's
	// error. The message was accepted and is still being delivered, but nothing
	// says it will be: the process may stop first.
	ErrPending = errors.New("bus: message accepted, not yet handled")
	// ErrBadEnvelope is returned by DecodeEnvelope for a body that is not an
	// envelope.
	ErrBadEnvelope = errors.New("bus: malformed envelope")
)

// Message is one event. Topic is the event name (send_award, send_rebate,
// credit_adjust_success, activity_sku_stock_zero) and the routing key; ID is the
// envelope id (the outbox message id); Body is the JSON envelope
// {"id","timestamp","data"} exactly as published.
type Message struct {
	Topic string
	ID    string
	Body  []byte
}

// Publisher publishes one message and returns only once the message is safe
// from this process stopping: for RabbitMQ after the publisher confirm of this
// very message, for the in-process Memory after the topic's handler returned nil
// for it. A nil error means the message will be (Memory: has been) delivered at
// least once to the topic's subscribers, so the caller may mark its work done;
// an error means it may not have been, and the caller publishes it again later.
type Publisher interface {
	Publish(ctx context.Context, m Message) error
}

// Handler processes one delivery. Returning nil acknowledges the message, so a
// handler returns nil only after its own effects are durable (its transaction
// committed). An error redelivers the message with backoff, up to the bus's
// maximum number of attempts, after which the message is parked as failed. A
// panic counts as an error. The context is cancelled when the bus is closed and
// its drain deadline has passed.
type Handler func(ctx context.Context, m Message) error

// Bus is a Publisher that also delivers messages to handlers. Subscribe registers
// the single handler of a topic and must be called before Start; Start begins
// delivery; Close stops accepting publishes, drains in-flight deliveries within a
// deadline, and releases everything. Close is idempotent and returns in bounded
// time.
type Bus interface {
	Publisher
	Subscribe(topic string, h Handler) error
	Start(ctx context.Context) error
	Close() error
}

// Backoff returns the delay before the redelivery that follows failed attempt
// number attempt (1 for the first delivery): base doubled for every earlier
// failure, capped at max. A zero max means no cap.
func Backoff(base, max time.Duration, attempt int) time.Duration {
	d := base
	for i := 1; i < attempt; i++ {
		if max > 0 && d >= max {
			break
		}
		if d > time.Duration(1)<<62/2 {
			break // doubling again would overflow
		}
		d *= 2
	}
	if max > 0 && d > max {
		d = max
	}
	return d
}

// Invoke calls h and turns a panic into an error carrying the panic value and
// stack, so that one poisoned message cannot bring the process down. Bus
// implementations call handlers through it.
func Invoke(ctx context.Context, h Handler, m Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("bus: handler panic: topic[%s] id[%s]: %v\n%s", m.Topic, m.ID, r, debug.Stack())
		}
	}()
	return h(ctx, m)
}

// Validate reports whether m can be published: it needs a topic. It returns an
// error wrapping ErrInvalid otherwise.
func Validate(m Message) error {
	if m.Topic == "" {
		return fmt.Errorf("publish: id[%s]: empty topic: %w", m.ID, ErrInvalid)
	}
	return nil
}
