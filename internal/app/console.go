package app

import (
	"context"
	"time"

	"github.com/bigmarket/bigmarket/internal/httpapi"
	"github.com/bigmarket/bigmarket/internal/store/auditdb"
)

// auditLog serves httpapi.AuditLog from the admin_audit table.
type auditLog struct {
	store *auditdb.Store
	now   func() time.Time
}

var _ httpapi.AuditLog = auditLog{}

// Record implements httpapi.AuditLog.
func (l auditLog) Record(ctx context.Context, e httpapi.AuditEntry) error {
	return l.store.Record(ctx, auditdb.Entry{Time: l.now(), Actor: e.Actor, Action: e.Action, Target: e.Target, Summary: e.Summary})
}

// List implements httpapi.AuditLog.
func (l auditLog) List(ctx context.Context, limit int, before int64) ([]httpapi.AuditEntry, error) {
	es, err := l.store.List(ctx, limit, before)
	if err != nil {
		return nil, err
	}
	out := make([]httpapi.AuditEntry, 0, len(es))
	for _, e := range es {
		out = append(out, auditEntry(e))
	}
	return out, nil
}

// Latest implements httpapi.AuditLog.
func (l auditLog) Latest(ctx context.Context, action, target string) (httpapi.AuditEntry, bool, error) {
	e, ok, err := l.store.Latest(ctx, action, target)
	return auditEntry(e), ok, err
}

func auditEntry(e auditdb.Entry) httpapi.AuditEntry {
	return httpapi.AuditEntry{ID: e.ID, Time: e.Time, Actor: e.Actor, Action: e.Action, Target: e.Target, Summary: e.Summary}
}
