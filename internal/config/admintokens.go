package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// AdminTokenName is the name of the single admin token (auth.admin_token,
// BIGMARKET_ADMIN_TOKEN) among the named ones.
const AdminTokenName = "admin"

// MinAdminTokenBytes is the shortest accepted named admin token.
const MinAdminTokenBytes = 16

// adminTokenName is the form of an admin token's name: it is what the audit
// log records as the actor.
var adminTokenName = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)

// NamedToken is one named admin bearer token.
type NamedToken struct {
	Name  string
	Token string
}

// AdminTokens are the named admin tokens (auth.admin_tokens,
// BIGMARKET_ADMIN_TOKENS=name:token,…). In YAML they are a map of name to
// token or a list of "name:token" strings. The order is kept so duplicates are
// reported by Validate.
type AdminTokens []NamedToken

// UnmarshalYAML accepts a map {name: token} or a list of "name:token".
func (t *AdminTokens) UnmarshalYAML(unmarshal func(any) error) error {
	var m map[string]string
	if err := unmarshal(&m); err == nil {
		out := make(AdminTokens, 0, len(m))
		for name, tok := range m {
			out = append(out, NamedToken{Name: name, Token: tok})
		}
		// Map order is not the file's order: sort by name for stable errors.
		sortTokens(out)
		*t = out
		return nil
	}
	var list []string
	if err := unmarshal(&list); err != nil {
		return fmt.Errorf("auth.admin_tokens: want a map of name to token or a list of \"name:token\"")
	}
	out, err := parseTokenList(list)
	if err != nil {
		return err
	}
	*t = out
	return nil
}

func sortTokens(t AdminTokens) {
	slices.SortFunc(t, func(a, b NamedToken) int { return strings.Compare(a.Name, b.Name) })
}

// ParseAdminTokens reads "name:token,name:token" (BIGMARKET_ADMIN_TOKENS). The
// error never contains a token.
func ParseAdminTokens(v string) (AdminTokens, error) {
	return parseTokenList(splitList(v))
}

func parseTokenList(items []string) (AdminTokens, error) {
	out := make(AdminTokens, 0, len(items))
	for i, it := range items {
		name, tok, ok := strings.Cut(it, ":")
		if !ok {
			return nil, fmt.Errorf("%w: auth.admin_tokens[%d]: want name:token", ErrInvalid, i)
		}
		out = append(out, NamedToken{Name: strings.TrimSpace(name), Token: strings.TrimSpace(tok)})
	}
	return out, nil
}

// validateAdminTokens checks names, token lengths and uniqueness; messages name
// the token by its name or position, never by its value.
func (c Config) validateAdminTokens(bad func(format string, args ...any)) {
	names := map[string]bool{}
	tokens := map[string]string{}
	if c.Auth.AdminToken != "" {
		names[AdminTokenName] = true
		tokens[c.Auth.AdminToken] = AdminTokenName
	}
	for i, t := range c.Auth.AdminTokens {
		if !adminTokenName.MatchString(t.Name) {
			bad("auth.admin_tokens[%d]: name %q: want 1 to 32 of a-z 0-9 _ -", i, t.Name)
			continue
		}
		if len(t.Token) < MinAdminTokenBytes {
			bad("auth.admin_tokens %s: token shorter than %d bytes", t.Name, MinAdminTokenBytes)
		}
		if names[t.Name] {
			if t.Name == AdminTokenName && c.Auth.AdminToken != "" {
				bad("auth.admin_tokens %s: the name %q is taken by auth.admin_token (BIGMARKET_ADMIN_TOKEN)", t.Name, AdminTokenName)
			} else {
				bad("auth.admin_tokens %s: name appears twice", t.Name)
			}
		}
		names[t.Name] = true
		if other, ok := tokens[t.Token]; ok && t.Token != "" {
			bad("auth.admin_tokens %s: same token as %s", t.Name, other)
		}
		tokens[t.Token] = t.Name
	}
}

// NamedAdminTokens returns every admin token in force by name: the named ones
// and the single auth.admin_token as "admin" (when set).
func (c Config) NamedAdminTokens() map[string]string {
	out := make(map[string]string, len(c.Auth.AdminTokens)+1)
	for _, t := range c.Auth.AdminTokens {
		out[t.Name] = t.Token
	}
	if c.Auth.AdminToken != "" {
		out[AdminTokenName] = c.Auth.AdminToken
	}
	return out
}
