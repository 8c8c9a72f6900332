package httpapi

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/bigmarket/bigmarket/internal/outbox"
)

// The operator's view of the outbox (GET tasks, POST tasks/retry_failed), the
// reason of a quota grant and the list bound of a user lookup.

// ActionTaskRetryFailed is the audit action of POST tasks/retry_failed.
const ActionTaskRetryFailed = "task.retry_failed"

// Bounds of the outbox endpoints.
const (
	// maxTaskOffset bounds GET tasks?offset=.
	maxTaskOffset = 10_000
	// defaultRetryFailed and maxRetryFailed bound one POST tasks/retry_failed.
	defaultRetryFailed = 100
	maxRetryFailed     = 1000
	// maxReasonLen bounds a grant's reason.
	maxReasonLen = 200
)

type taskView struct {
	MessageID  string `json:"messageId"`
	UserID     string `json:"userId"`
	Topic      string `json:"topic"`
	State      string `json:"state"`
	Attempts   int    `json:"attempts"`
	LastError  string `json:"lastError"`
	Message    string `json:"message"`
	CreateTime int64  `json:"createTime"`
	UpdateTime int64  `json:"updateTime"`
}

func taskViewOf(t outbox.Task) taskView {
	return taskView{t.MessageID, t.UserID, t.Topic, string(t.State), t.Attempts, t.LastError, string(t.Body),
		t.CreateTime.UnixMilli(), t.UpdateTime.UnixMilli()}
}

func taskViews(ts []outbox.Task) []taskView {
	out := make([]taskView, 0, len(ts))
	for _, t := range ts {
		out = append(out, taskViewOf(t))
	}
	return out
}

// taskFilter checks the topic and user filters of the outbox endpoints.
func taskFilter(topic, user string) error {
	if topic != "" && !slices.Contains(outbox.Topics(), topic) {
		return badRequest("topic %q: want one of %s", topic, strings.Join(outbox.Topics(), ", "))
	}
	if user != "" {
		return requireUser(user)
	}
	return nil
}

// tasks answers GET tasks?state=&topic=&userId=&limit=&offset=: the tasks
// the filters select, newest first (with a state, by last update), skipping
// offset of them.
func (s *Server) tasks(r *http.Request) (any, error) {
	q := r.URL.Query()
	state := outbox.State(q.Get("state"))
	switch state {
	case "", outbox.StateCreate, outbox.StateCompleted, outbox.StateFail:
	default:
		return nil, badRequest("state %q: want create, completed or fail", state)
	}
	if err := taskFilter(q.Get("topic"), q.Get("userId")); err != nil {
		return nil, err
	}
	limit, err := limitParam(r)
	if err != nil {
		return nil, err
	}
	offset := 0
	if v := q.Get("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 || offset > maxTaskOffset {
			return nil, badRequest("offset %q: want 0…%d", v, maxTaskOffset)
		}
	}
	ts, err := s.deps.Ops.Tasks(r.Context(), outbox.ListQuery{State: state, Topic: q.Get("topic"), UserID: q.Get("userId"), Limit: limit, Offset: offset})
	if err != nil {
		return nil, err
	}
	return taskViews(ts), nil
}

type retryFailedRequest struct {
	Topic  string `json:"topic"`
	UserID string `json:"userId"`
	Limit  int    `json:"limit"`
}

type retryFailedResponse struct {
	// Retried is how many failed tasks were reset and published again.
	Retried int `json:"retried"`
	// More says the limit was reached: further failed tasks may be left.
	More  bool       `json:"more"`
	Tasks []taskView `json:"tasks"`
}

// retryFailedTasks answers POST tasks/retry_failed {topic?, userId?, limit?}:
// up to limit (default 100, at most 1000) failed tasks, the most recently
// failed first, are reset and published now. One audit entry records the
// count and the filters; nothing is recorded when no task was failed.
func (s *Server) retryFailedTasks(r *http.Request) (any, error) {
	var req retryFailedRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := taskFilter(req.Topic, req.UserID); err != nil {
		return nil, err
	}
	switch {
	case req.Limit == 0:
		req.Limit = defaultRetryFailed
	case req.Limit < 0 || req.Limit > maxRetryFailed:
		return nil, badRequest("limit %d: want 1…%d", req.Limit, maxRetryFailed)
	}
	ts, err := s.deps.Ops.RetryFailedTasks(r.Context(), outbox.ListQuery{Topic: req.Topic, UserID: req.UserID, Limit: req.Limit})
	if err != nil {
		return nil, err
	}
	if len(ts) > 0 {
		filters := ""
		if req.Topic != "" {
			filters += ", topic " + req.Topic
		}
		if req.UserID != "" {
			filters += ", user " + req.UserID
		}
		if err := s.audit(r, ActionTaskRetryFailed, "failed tasks", "%d failed tasks retried (limit %d%s)", len(ts), req.Limit, filters); err != nil {
			return nil, err
		}
	}
	return retryFailedResponse{Retried: len(ts), More: len(ts) == req.Limit, Tasks: taskViews(ts)}, nil
}

// grantReason checks a grant's reason and returns it as the audit summary's
// suffix ("" when none was given).
func grantReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return "", nil
	}
	if len(reason) > maxReasonLen {
		return "", badRequest("reason longer than %d bytes", maxReasonLen)
	}
	if strings.ContainsFunc(reason, unicode.IsControl) {
		return "", badRequest("reason has control characters (it is one line)")
	}
	return ", reason: " + reason, nil
}

// Bounds of GET users/{userId}?limit=: the newest entries of each list.
const (
	defaultUserListLimit = 100
	maxUserListLimit     = 1000
)

// userListLimit reads GET users/{userId}'s ?limit= (default 100, at most 1000).
func userListLimit(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return defaultUserListLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 || n > maxUserListLimit {
		return 0, badRequest("limit %q: want 1…%d", v, maxUserListLimit)
	}
	return n, nil
}
