// Package outbox makes events as durable as the facts they announce. A task (the
// event's envelope) is inserted in the same transaction as its fact, on the
// user's shard; after the commit the Relay publishes it on the bus and marks it
// completed, in batches; the RetryJob, run by one instance of the fleet at a
// time, republishes tasks that failed and tasks the relay never got to (the
// process died between commit and publish, or the relay's queue was full); the
// PurgeJob deletes completed tasks past their retention.
//
// A task is completed only once its message is safe from the process stopping:
// the bus's Publish returns nil after a broker's publisher confirm (RabbitMQ) or
// after the consumer handled the message (the in-process bus), so a crash or a
// stop at any instant leaves unfinished work in create or fail, to be published
// again.
//
// Delivery is at least once: a task may be published twice (the relay and the
// retry job racing, a completion mark lost), so every consumer is idempotent.
// Publishing is bounded: a task whose publish fails for a reason of its own (the
// broker refused or could not route it) is tried at most MaxAttempts times and
// then left in state fail, visible to operators (admin API) who can reset it.
// Failures of the broker as a whole (disconnected, closed, timed out) do not use
// up attempts, so an outage of any length loses nothing.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/bigmarket/bigmarket/internal/platform/bus"
)

// Topics of the events, kept from the original platform.
const (
	TopicSendAward           = "send_award"
	TopicSendRebate          = "send_rebate"
	TopicCreditAdjustSuccess = "credit_adjust_success"
	TopicSKUStockZero        = "activity_sku_stock_zero"
)

// ErrNotFound is returned (wrapped) by stores for a message id that no shard
// holds.
var ErrNotFound = errors.New("outbox: task not found")

// State is a task's publishing state.
type State string

// Task states, kept from the original platform.
const (
	// StateCreate: stored, not yet published (or published and not yet marked).
	StateCreate State = "create"
	// StateCompleted: published and safe: the broker confirmed it (RabbitMQ)
	// or its consumer handled it (the in-process bus).
	StateCompleted State = "completed"
	// StateFail: the last publish failed. The retry job republishes it while
	// Attempts < MaxAttempts; after that it stays here for operators.
	StateFail State = "fail"
)

// Task is one event to publish: a row of the task table of its user's shard.
type Task struct {
	UserID    string
	Topic     string
	MessageID string // the envelope id; unique across shards (idgen)
	// Body is the JSON envelope {"id","timestamp","data"} exactly as published.
	Body []byte
	// State is where publishing stands.
	State State
	// Attempts counts publishes that failed for a reason of the message's own;
	// outages of the broker are not counted.
	Attempts int
	// LastError is the error of the last failed publish, at most
	// MaxLastErrorLen bytes; "" once the task completes.
	LastError  string
	CreateTime time.Time
	UpdateTime time.Time
}

// MaxLastErrorLen bounds a task's LastError (the column width).
const MaxLastErrorLen = 512

// TruncateError returns err's message cut to MaxLastErrorLen bytes at a rune
// boundary, "" for a nil err.
func TruncateError(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	if len(s) <= MaxLastErrorLen {
		return s
	}
	n := MaxLastErrorLen
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// ListQuery selects tasks for operators: every field is optional.
type ListQuery struct {
	// State keeps the tasks in this state; "" keeps all.
	State State
	// Topic keeps the tasks of this topic; "" keeps all.
	Topic string
	// UserID keeps this user's tasks; "" keeps all.
	UserID string
	// Offset skips this many tasks of the ordered list (paging).
	Offset int
	// Limit bounds the answer.
	Limit int
}

// Topics lists the topics tasks are published on.
func Topics() []string {
	return []string{TopicSendAward, TopicSendRebate, TopicCreditAdjustSuccess, TopicSKUStockZero}
}

// New returns a task in StateCreate whose body is the envelope of data with
// messageID and now as id and timestamp. It returns an error wrapping
// bus.ErrInvalid for an empty message id, topic or user, or data's JSON
// encoding error.
func New(userID, topic, messageID string, data any, now time.Time) (Task, error) {
	if userID == "" || topic == "" {
		return Task{}, fmt.Errorf("new outbox task: topic[%s] id[%s] user[%s]: empty topic or user: %w",
			topic, messageID, userID, bus.ErrInvalid)
	}
	body, err := bus.NewEnvelope(messageID, now, data)
	if err != nil {
		return Task{}, fmt.Errorf("new outbox task: topic[%s] user[%s]: %w", topic, userID, err)
	}
	ms := time.UnixMilli(now.UnixMilli())
	return Task{UserID: userID, Topic: topic, MessageID: messageID, Body: body, State: StateCreate,
		CreateTime: ms, UpdateTime: ms}, nil
}

// Message returns the bus message that publishes t.
func (t Task) Message() bus.Message {
	return bus.Message{Topic: t.Topic, ID: t.MessageID, Body: t.Body}
}

// Store is the task storage the relay and the retry job need (outboxdb.Store
// implements it). Tasks live in one table per shard database; shard indexes run
// from 0 to Shards()-1.
type Store interface {
	// Shards returns the number of shard databases.
	Shards() int
	// ShardOf returns the shard that holds userID's tasks.
	ShardOf(userID string) int
	// MarkCompleted sets the tasks with these message ids on shard to
	// StateCompleted, in one statement.
	MarkCompleted(ctx context.Context, shard int, messageIDs []string, now time.Time) error
	// MarkFailed sets a task that is not completed to StateFail with attempts
	// and lastError (the publish's error, at most MaxLastErrorLen bytes).
	MarkFailed(ctx context.Context, shard int, messageID string, attempts int, lastError string, now time.Time) error
	// Retryable returns up to limit tasks of shard to republish: in StateCreate
	// not updated since olderThan, and in StateFail with fewer than maxAttempts
	// attempts, least recently updated first.
	Retryable(ctx context.Context, shard int, olderThan time.Time, maxAttempts, limit int) ([]Task, error)
}

// Counted reports whether a publish error uses up one of the task's attempts:
// false for failures of the broker as a whole (bus.ErrUnavailable,
// bus.ErrClosed, a cancelled or expired context) and for a message still being
// handled (bus.ErrPending), which say nothing about the message, true for the
// rest (refused, unroutable, not confirmed, handler failed on every attempt, …).
func Counted(err error) bool {
	return !(errors.Is(err, bus.ErrUnavailable) || errors.Is(err, bus.ErrClosed) || errors.Is(err, bus.ErrPending) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}

// brokerDown reports whether a publish error says the bus as a whole cannot
// take messages now, so that trying more of them is pointless: an uncounted
// failure, except a message that was taken and is still being handled (a slow
// consumer behind the in-process bus).
func brokerDown(err error) bool {
	return !Counted(err) && !errors.Is(err, bus.ErrPending)
}
