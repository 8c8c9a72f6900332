package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// AuditEntry is one admin write as the audit log keeps it.
type AuditEntry struct {
	// ID orders entries (newer is larger); List pages with it.
	ID int64
	// Time is when the write was recorded; the log sets it.
	Time time.Time
	// Actor is the admin token's name, never the token.
	Actor string
	// Action names the write (the Action* constants).
	Action string
	// Target is what the write changed: a switch key, a user id, ….
	Target string
	// Summary says what changed, for people.
	Summary string
}

// AuditLog stores and lists the admin writes.
type AuditLog interface {
	// Record stores e, stamped with the current time.
	Record(ctx context.Context, e AuditEntry) error
	// List returns up to limit entries newest first; before > 0 keeps only
	// entries whose ID is below it.
	List(ctx context.Context, limit int, before int64) ([]AuditEntry, error)
	// Latest returns the newest entry of action on target, false if none.
	Latest(ctx context.Context, action, target string) (AuditEntry, bool, error)
}

// Actions of the audit log.
const (
	ActionCampaignApply = "campaign.apply"
	ActionQuotaGrant    = "quota.grant"
	ActionTaskRetry     = "task.retry"
	ActionAwardRetry    = "award.retry"
	ActionRebateRetry   = "rebate.retry"
	ActionSwitchSet     = "switch.set"
	ActionStageActivate = "stage.activate"
)

func (s *Server) auditRoutes() {
	if s.deps.Audit == nil {
		return
	}
	s.adminRoute(http.MethodGet, admin+"audit", s.auditList)
	if s.deps.Switches != nil {
		s.adminRoute(http.MethodGet, admin+"switches/state", s.switchStates)
	}
}

// audit records a successful admin write of r. Without an audit log it does
// nothing. When the entry cannot be stored the write has happened already: the
// answer is a failure saying so, and since every audited write is idempotent
// the operator repeats it and the repetition is recorded.
func (s *Server) audit(r *http.Request, action, target, format string, args ...any) error {
	if s.deps.Audit == nil {
		return nil
	}
	e := AuditEntry{Actor: AdminFrom(r.Context()), Action: action, Target: target, Summary: fmt.Sprintf(format, args...)}
	if err := s.deps.Audit.Record(r.Context(), e); err != nil {
		s.log.Error("admin write not audited", "action", action, "target", target, "actor", e.Actor, "err", err)
		return &codeError{code: CodeFailure, info: "the change was made but could not be recorded in the audit log: repeat it (it is idempotent)",
			zh: "变更已执行但审计日志写入失败，请重试"}
	}
	return nil
}

// auditView is one audit entry as the console lists it.
type auditView struct {
	ID      int64  `json:"id"`
	Time    int64  `json:"time"`
	Actor   string `json:"actor"`
	Action  string `json:"action"`
	Target  string `json:"target"`
	Summary string `json:"summary"`
}

// auditList answers GET audit?limit=&before=: newest first; before is the id
// of the last entry of the previous page.
func (s *Server) auditList(r *http.Request) (any, error) {
	limit, err := limitParam(r)
	if err != nil {
		return nil, err
	}
	var before int64
	if v := r.URL.Query().Get("before"); v != "" {
		if before, err = positiveID("before", v); err != nil {
			return nil, err
		}
	}
	es, err := s.deps.Audit.List(r.Context(), limit, before)
	if err != nil {
		return nil, err
	}
	out := make([]auditView, 0, len(es))
	for _, e := range es {
		out = append(out, auditView{e.ID, e.Time.UnixMilli(), e.Actor, e.Action, e.Target, e.Summary})
	}
	return out, nil
}

// switchState is one switch with its last audited change.
type switchState struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	// ChangedAt (unix ms) and ChangedBy are the last audited change; absent
	// when the switch was never changed through the admin API.
	ChangedAt int64  `json:"changedAt,omitempty"`
	ChangedBy string `json:"changedBy,omitempty"`
}

// switchStates answers GET switches/state: every switch, its value and who
// changed it last, when.
func (s *Server) switchStates(r *http.Request) (any, error) {
	all := s.deps.Switches.All()
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]switchState, 0, len(keys))
	for _, k := range keys {
		st := switchState{Key: k, Value: all[k]}
		e, ok, err := s.deps.Audit.Latest(r.Context(), ActionSwitchSet, k)
		if err != nil {
			return nil, err
		}
		if ok {
			st.ChangedAt, st.ChangedBy = e.Time.UnixMilli(), e.Actor
		}
		out = append(out, st)
	}
	return out, nil
}

// itoa formats an id for audit targets.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }
