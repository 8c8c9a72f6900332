package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"sort"
)

// adminToken is one admin token as the server keeps it: the SHA-256 of its
// Authorization header value, so every comparison is of equal length.
type adminToken struct {
	name string
	sum  [sha256.Size]byte
}

// adminTokens hashes the configured admin tokens, AdminToken named "admin".
func adminTokens(cfg Config) []adminToken {
	byName := map[string]string{}
	for name, tok := range cfg.AdminTokens {
		if tok != "" {
			byName[name] = tok
		}
	}
	if cfg.AdminToken != "" {
		byName[AdminName] = cfg.AdminToken
	}
	out := make([]adminToken, 0, len(byName))
	for name, tok := range byName {
		out = append(out, adminToken{name: name, sum: sha256.Sum256([]byte("Bearer " + tok))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// AdminName is the actor name of the single admin token (Config.AdminToken).
const AdminName = "admin"

// adminName returns the name of the admin token r carries. The header is
// compared with every token, in constant time and without stopping at a
// match, so the time taken tells nothing of which token, if any, matched.
func (s *Server) adminName(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if h == "" || len(s.admins) == 0 {
		return "", false
	}
	got := sha256.Sum256([]byte(h))
	match := -1
	for i, t := range s.admins {
		eq := subtle.ConstantTimeCompare(got[:], t.sum[:])
		match = subtle.ConstantTimeSelect(eq, i, match)
	}
	if match < 0 {
		return "", false
	}
	return s.admins[match].name, true
}

// adminKey is the context key of the authenticated admin's name.
type adminKey struct{}

// WithAdmin returns ctx carrying the name of the admin who makes the request.
func WithAdmin(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, adminKey{}, name)
}

// AdminFrom returns the name of the admin who makes the request ("" outside an
// admin endpoint).
func AdminFrom(ctx context.Context) string {
	name, _ := ctx.Value(adminKey{}).(string)
	return name
}
